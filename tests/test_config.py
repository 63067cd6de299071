"""Config loading: YAML, overrides, casting and clear errors."""

from pathlib import Path

import pytest

from german_stance.config import LABELS, Config, load_config, save_config


def test_yaml_then_overrides_with_casting(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("learning_rate: 3e-5\nnum_epochs: 2\nfreeze_embeddings: false\n")
    cfg = load_config(path, ["--num_epochs=4", "--use_context=true", "--batch_size=8"])
    # PyYAML reads 3e-5 as a string; it must arrive as a float.
    assert cfg.learning_rate == pytest.approx(3e-5)
    assert cfg.num_epochs == 4.0 and cfg.batch_size == 8
    assert cfg.freeze_embeddings is False and cfg.use_context is True


def test_unknown_key_names_nearest_valid_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("learning_rte: 1e-4\n")
    with pytest.raises(ValueError, match="unknown config key 'learning_rte'.*did you mean 'learning_rate'"):
        load_config(path)
    with pytest.raises(ValueError, match="unknown config key 'epochs'"):
        load_config(None, ["--epochs=3"])


@pytest.mark.parametrize(("flag", "message"), [
    ("--warmup_ratio=1.5", r"warmup_ratio must be in \[0, 1\], got 1.5"),
    ("--batch_size=abc", "batch_size expects a int, got 'abc'"),
    ("--freeze_embeddings=maybe", "freeze_embeddings expects a bool"),
    ("--device=tpu", "device must be auto, cpu"),
    ("--gradient_accumulation_steps=0", "gradient_accumulation_steps must be >= 1, got 0"),
    ("--keep_checkpoints=0", "keep_checkpoints must be >= 1, got 0"),
    ("batch_size=3", "expected overrides of the form --key=value"),
])
def test_bad_values_are_rejected_with_the_value(flag: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config(None, [flag])


def test_missing_config_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="expected a YAML config at"):
        load_config(tmp_path / "nope.yaml")


def test_saved_config_round_trips(tmp_path: Path) -> None:
    cfg = Config(learning_rate=2e-5, run_name="x", use_context=True)
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == cfg


def test_shipped_configs_load() -> None:
    root = Path(__file__).resolve().parents[1] / "configs"
    names = {path.name for path in root.glob("*.yaml")}
    assert {"stance.yaml", "tiny.yaml", "gbert-base.yaml"} <= names
    for path in root.glob("*.yaml"):
        load_config(path)
    assert LABELS == ("critical", "neutral", "supportive")


def test_seed_override_is_not_mistaken_for_the_seeds_option() -> None:
    from german_stance.cli import build_parser

    args, extra = build_parser().parse_known_args(["train", "--seed=43"])
    assert args.seeds == 1 and extra == ["--seed=43"]
    assert load_config(None, extra).seed == 43

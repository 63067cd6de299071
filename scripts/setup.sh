#!/usr/bin/env bash
# One-command setup: a virtual environment in .venv with PyTorch, german-stance, ONNX Runtime (export,
# --backend onnx), Ray Data (predict-batch) and the test tools.
# CPU machines get PyTorch's CPU build (a plain `pip install torch` on Linux pulls a CUDA build of several GB);
# machines with an NVIDIA GPU (nvidia-smi works) or TORCH_VARIANT=cuda get the default CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

if [ "${TORCH_VARIANT:-}" = "cuda" ] || { [ "${TORCH_VARIANT:-}" != "cpu" ] && nvidia-smi -L >/dev/null 2>&1; }; then
    echo "setup: installing torch==$TORCH_VERSION (CUDA build)"
    "${PIP[@]}" "torch==$TORCH_VERSION"
else
    CPU_INDEX="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
    if "$VENV/bin/python" -c "import torch" 2>/dev/null; then
        echo "setup: torch already installed ($("$VENV/bin/python" -c 'import torch; print(torch.__version__)'))"
    elif "$VENV/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=5)" "$CPU_INDEX/torch/" 2>/dev/null; then
        echo "setup: installing torch==$TORCH_VERSION (CPU build from $CPU_INDEX)"
        "${PIP[@]}" "torch==$TORCH_VERSION" --index-url "$CPU_INDEX"
    else
        # No route to PyTorch's CPU index (an offline mirror, a package proxy): take torch from the configured
        # index or local wheels; check that it is a CPU build before relying on it on a machine without a GPU.
        echo "setup: $CPU_INDEX is not reachable; installing torch==$TORCH_VERSION from the configured index"
        "${PIP[@]}" "torch==$TORCH_VERSION"
    fi
fi
# torch is already satisfied, so this step adds only the remaining dependencies.
"${PIP[@]}" -e ".[dev,onnx,ray]"
"$VENV/bin/python" -c "import torch, german_stance; print('setup: ok, torch', torch.__version__, '| cuda', torch.cuda.is_available())"

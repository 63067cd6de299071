"""The classifier: one BERT encoder shared by a linear head per task, over mean-pooled (or [CLS]) states.

This file imports only torch and transformers: ``train`` copies it into every saved model folder as
``modeling_german_stance.py`` and names it in ``config.json`` (``auto_map``), so that
``pipeline("text-classification", model=RUN/"model", trust_remote_code=True)`` runs this same head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.utils import ModelOutput

DEFAULT_TASKS = [{"name": "stance", "labels": ["critical", "neutral", "supportive"]}]


class GermanStanceConfig(BertConfig):
    """A BERT config plus the task heads (``tasks``: name and labels each) and the pooling."""

    model_type = "german_stance_bert"

    def __init__(self, tasks: list[dict[str, Any]] | None = None, pooling: str = "mean", task_poolers: bool = False,
                 detached_tasks: list[str] | None = None, **kwargs: Any) -> None:
        tasks = [dict(task) for task in (tasks or DEFAULT_TASKS)]
        # transformers' pipeline reads id2label: it describes the first task (stance), whose logits it gets.
        kwargs.setdefault("id2label", dict(enumerate(tasks[0]["labels"])))
        kwargs.setdefault("label2id", {label: index for index, label in enumerate(tasks[0]["labels"])})
        super().__init__(**kwargs)
        self.tasks = tasks
        self.pooling = pooling
        # One dense + tanh projection per task over the shared pooled state (instead of one shared projection), so
        # that sentiment and stance, which disagree on one sentence in five, do not fight over one vector.
        self.task_poolers = task_poolers
        # Tasks whose loss does not reach the shared encoder: their heads learn on the encoder that the other
        # tasks shape (so a second task cannot cost the first any accuracy).
        self.detached_tasks = list(detached_tasks or [])


@dataclass
class MultiTaskOutput(ModelOutput):
    """``logits`` of the first task (what transformers' pipeline reads) and every task's logits side by side."""

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    all_logits: torch.FloatTensor | None = None


class GermanStanceModel(BertPreTrainedModel):
    """Shared encoder, pooled sentence state (dense + tanh, as BERT's pooler), one linear head per task.

    e5 was trained with mean pooling, so its [CLS] state carries less sentence information; ``pooling="cls"``
    gives exactly BERT's own sequence-classification head.
    """

    config_class = GermanStanceConfig

    def __init__(self, config: GermanStanceConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=True)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = torch.nn.Dropout(dropout)
        self.heads = torch.nn.ModuleDict(
            {task["name"]: torch.nn.Linear(config.hidden_size, len(task["labels"])) for task in config.tasks})
        if getattr(config, "task_poolers", False):
            self.task_dense = torch.nn.ModuleDict(
                {task["name"]: torch.nn.Linear(config.hidden_size, config.hidden_size) for task in config.tasks})
        self.post_init()

    def init_task_poolers(self) -> None:
        """Start every task's projection from the backbone's own pooler (call after loading pretrained weights)."""
        if hasattr(self, "task_dense"):
            for dense in self.task_dense.values():
                dense.load_state_dict(self.bert.pooler.dense.state_dict())

    def sentence_state(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """The mean of non-padding token states (or the [CLS] state)."""
        if self.config.pooling == "cls":
            return hidden[:, 0]
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], device=hidden.device)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **kwargs: Any) -> MultiTaskOutput:
        """Logits of every task from one encoder pass; ``labels`` (batch, tasks), -100 = unlabelled."""
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        state = self.sentence_state(hidden, attention_mask)
        if hasattr(self, "task_dense"):
            detached = set(getattr(self.config, "detached_tasks", []) or [])
            per_task = [self.heads[task["name"]](self.dropout(torch.tanh(self.task_dense[task["name"]](
                state.detach() if task["name"] in detached else state)))) for task in self.config.tasks]
        else:
            pooled = self.dropout(torch.tanh(self.bert.pooler.dense(state)))
            per_task = [self.heads[task["name"]](pooled) for task in self.config.tasks]
        loss = None
        if labels is not None:
            labels = labels.view(labels.shape[0], -1)
            loss = sum(torch.nn.functional.cross_entropy(logits.float(), labels[:, index], ignore_index=-100)
                       for index, logits in enumerate(per_task) if (labels[:, index] != -100).any())
        return MultiTaskOutput(loss=loss, logits=per_task[0], all_logits=torch.cat(per_task, dim=-1))

"""The classifier's sentiment head as a Hugging Face ``PreTrainedModel``.

So ``transformers.pipeline("text-classification")`` can run over exactly the same weights: the
benchmark's reference point for the engine.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoTokenizer, Pipeline, PretrainedConfig, PreTrainedModel, pipeline
from transformers import logging as hf_logging
from transformers.modeling_outputs import SequenceClassifierOutput

from model_service.engine import InferenceEngine


class SentimentHeadModel(PreTrainedModel):
    """Wraps a loaded TopicSentimentModel; forward returns the sentiment logits."""

    config_class = PretrainedConfig
    base_model_prefix = "classifier"

    def __init__(self, config: PretrainedConfig, classifier: torch.nn.Module) -> None:
        super().__init__(config)
        self.classifier = classifier

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any
    ) -> SequenceClassifierOutput:
        return SequenceClassifierOutput(logits=self.classifier(input_ids, attention_mask).sentiment)


def sentiment_pipeline(engine: InferenceEngine, base_dir: Any) -> Pipeline:
    """A text-classification pipeline over the engine's (fp32, merged) weights, on CPU."""
    sentiments = engine.config.sentiments
    config = PretrainedConfig(
        id2label=dict(enumerate(sentiments)), label2id={name: i for i, name in enumerate(sentiments)}
    )
    model = SentimentHeadModel(config, engine.model).eval()
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    hf_logging.set_verbosity(hf_logging.CRITICAL)  # it logs that the wrapper is not a registered class
    return pipeline("text-classification", model=model, tokenizer=tokenizer, device=-1)

"""tapewatch model_service: the attention classifier for topic and sentiment."""

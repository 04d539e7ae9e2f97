"""What every tapewatch component shares: wire records, settings loading, metrics helpers, topic
reading and child processes. It imports none of ``stream``, ``alerts`` or ``model_service``."""

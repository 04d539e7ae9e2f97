"""The Faust worker: app, topics, transport, agents (classify, aggregate, archive), dead letters, lag,
restart recovery and the metrics it serves."""

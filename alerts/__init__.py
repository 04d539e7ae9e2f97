"""tapewatch alerts: spike detection over closed windows, Prometheus rules, Alertmanager routing and
the webhook listener. Uses ``common``; never ``stream``."""

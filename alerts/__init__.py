"""tapewatch alerts: spike detection, Prometheus rule rendering, Alertmanager receiver."""

"""tapewatch stream: sources (ingest), preparation, the Faust worker (pipeline), windows, the archive,
replay, Grafana, the embedded stack (devstack) and the command line (cli)."""

"""The Faust agents of the pipeline, each registered on an app by an ``add_*_agent`` function."""

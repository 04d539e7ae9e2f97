"""Sources that produce Documents to the raw-documents topic."""

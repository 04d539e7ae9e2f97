"""tapewatch stream: records, sources, agents, windows, archive, CLI and the embedded broker."""

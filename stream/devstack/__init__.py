"""The embedded stack for the demo and the tests: broker, worker process, monitoring servers, demo."""

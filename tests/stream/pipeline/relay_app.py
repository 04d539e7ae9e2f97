"""A minimal Faust app on tapewatch's configuration: relays raw documents to ``<prefix>.relay``.

Run by test_broker_roundtrip.py as ``python -m tests.stream.pipeline.relay_app`` in a child process.
"""

from __future__ import annotations

import faust

from stream.pipeline.app import faust_config, run_worker
from stream.settings import StreamSettings


def create_relay_app(settings: StreamSettings) -> faust.App:
    app = faust.App(settings.app_id, **faust_config(settings))
    source = app.topic(f"{settings.topic_prefix}.docs.raw", value_type=bytes, value_serializer="raw")
    sink = app.topic(f"{settings.topic_prefix}.relay", value_type=bytes, value_serializer="raw")

    @app.agent(source, name="relay")
    async def relay(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await sink.send(key=event.key, value=event.value)

    return app


if __name__ == "__main__":
    settings = StreamSettings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    run_worker(create_relay_app(settings), loglevel="warn")

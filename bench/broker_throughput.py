"""Broker throughput: kafka-python produce and consume rates on the embedded broker.

The ceiling any pipeline stage built on this broker can reach on this machine.
"""

from __future__ import annotations

import time

from kafka import KafkaConsumer

from stream.devstack.broker import EmbeddedBroker
from stream.ingest.producer import DocumentProducer
from stream.prepare.documents import document_from_fields
from stream.settings import StreamSettings

DOCUMENTS = 20_000


def run(documents: int = DOCUMENTS) -> dict[str, float]:
    with EmbeddedBroker() as broker:
        settings = StreamSettings(broker_url=broker.bootstrap, topic_prefix="bench")
        docs = [
            document_from_fields(
                {
                    "id": f"b{n}",
                    "source": "bench",
                    "title": f"Headline number {n} about $XOM",
                    "published_at": n,
                }
            )
            for n in range(documents)
        ]
        started = time.perf_counter()
        with DocumentProducer(settings) as producer:
            for doc in docs:
                producer.send(doc)
        produce_s = time.perf_counter() - started
        consumer = KafkaConsumer(
            producer.topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest", group_id=None
        )
        started, received = time.perf_counter(), 0
        while received < documents:
            received += sum(len(batch) for batch in consumer.poll(timeout_ms=1000).values())
        consume_s = time.perf_counter() - started
        consumer.close()
    return {
        "documents": documents,
        "produce_per_s": documents / produce_s,
        "consume_per_s": documents / consume_s,
    }


def markdown(result: dict[str, float]) -> str:
    return (
        f"{result['documents']:,.0f} documents (about 200 bytes of JSON each), "
        "one kafka-python client each way.\n\n"
        "| step | documents/s |\n| --- | ---: |\n"
        f"| produce (acks=all, linger 5 ms) | {result['produce_per_s']:,.0f} |\n"
        f"| consume | {result['consume_per_s']:,.0f} |\n"
    )

"""Where a scored document is counted: its window keys, and the keyed partition each key lives on."""

from __future__ import annotations

from aiokafka.partitioner import murmur2

from common.records import EntityLabel, ScoredDocument

ALL = "all"
USER_TOPIC_PREFIX = "topic:"


def user_topic_key(name: str) -> str:
    """The window key of a topic from the user's topics file (a trained topic's key is its bare name)."""
    return f"{USER_TOPIC_PREFIX}{name}"


def window_keys(scored: ScoredDocument) -> list[str]:
    """Every key a document is counted under: the whole feed, its topic (and the user topic it
    matched), its source, and the entity keys decided when it was scored (never recomputed here, so
    a watchlist reload after scoring cannot move a document to other keys)."""
    user = [user_topic_key(scored.user_topic)] if scored.user_topic else []
    return [ALL, scored.topic, *user, f"source:{scored.document.source}", *entity_keys(scored)]


def entity_keys(scored: ScoredDocument) -> list[str]:
    """The entity keys stored with the document; one archived before keys were stored counts under its
    tickers."""
    if scored.entities is None:
        return [f"${ticker}" for ticker in dict.fromkeys(scored.document.tickers)]
    return list(scored.entities)


def entity_labels(scored: ScoredDocument, keys: list[str]) -> dict[str, EntityLabel] | None:
    """The entity labels of those ``keys`` (names and sentiments, without the mentions): what an entry
    carries."""
    if not scored.entities:
        return None
    return {key: scored.entities[key].brief() for key in keys if key in scored.entities} or None


def default_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a record with this key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def keys_by_partition(keys: list[str], partitions: int) -> dict[int, list[str]]:
    """The keys grouped by the keyed partition each would have as a record's key."""
    grouped: dict[int, list[str]] = {}
    for key in keys:
        grouped.setdefault(default_partition(key.encode(), partitions), []).append(key)
    return grouped

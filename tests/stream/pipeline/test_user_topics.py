"""Topics by example in a running worker: counted under topic:<name>, archived, and a changed topics
file picked up without a restart, read beside the scoring (a bad edit keeps the last good file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from stream.devstack.worker_process import WorkerProcess
from stream.prepare.documents import document_from_fields
from stream.topics import TopicNames
from tests.helpers import archived, read_topic, send_documents, wait_until, window_entries

pytestmark = pytest.mark.integration

STABLECOINS = {
    "name": "Stablecoins",
    "examples": [
        "Tether's reserves questioned as USDT wobbles below its dollar peg",
        "Circle mints another $1 billion USDC as stablecoin supply climbs",
        "TerraUSD loses its peg and falls to 30 cents",
        "DAI holds its peg as MakerDAO raises the stability fee",
    ],
}
HACKS = {
    "name": "Hacks and exploits",
    "examples": [
        "DeFi protocol drained of $80 million in flash loan exploit",
        "Hackers steal $600 million from a cross-chain bridge",
        "Exchange halts withdrawals after hot wallet breach",
        "Attacker exploits a reentrancy bug to siphon funds from a lending pool",
    ],
}
FIRST = "Thieves empty a crypto lending platform's vault through a smart contract flaw"
SECOND = "Attackers make off with $45 million after compromising a bridge's signing keys"
THIRD = "Lending protocol loses $12 million to an oracle manipulation attack"


def document(doc_id: str, title: str) -> object:
    at = datetime(2026, 11, 20, 14, 0, 5, tzinfo=UTC).isoformat()
    return document_from_fields({"id": doc_id, "source": "crypto-wire", "title": title, "published_at": at})


def user_topics_of(settings) -> dict[str, str | None]:
    return {row["id"]: row["user_topic"] for row in archived(settings, ("id", "user_topic"))}


def test_a_running_worker_follows_its_topics_file(make_settings, tmp_path: Path, default_engine) -> None:
    path = tmp_path / "topics.yml"
    path.write_text(yaml.safe_dump({"topics": [STABLECOINS]}))
    both = tmp_path / "both.yml"
    both.write_text(yaml.safe_dump({"topics": [STABLECOINS, HACKS]}))
    matcher = default_engine.topic_matcher(both)
    expected = [r.user_topic for r in default_engine.classify([FIRST, SECOND, THIRD], topics=matcher)]
    assert expected == ["Hacks and exploits"] * 3, "the model places the three headlines in the new topic"

    settings = make_settings(archive_flush_s=1)
    env = {"TAPEWATCH_TOPICS_PATH": str(path), "TAPEWATCH_TOPICS_CHECK_S": "0.1"}
    worker = WorkerProcess(settings, tmp_path / "worker.log", env=env).start()
    try:
        worker.wait_ready(120)
        send_documents(settings, [document("first", FIRST)])
        wait_until(lambda: "first" in user_topics_of(settings), 120, "the first document archived")
        assert user_topics_of(settings) == {"first": None}, "no topic of the file is close"

        path.write_text(both.read_text())
        # the next scoring call sees the change and starts the reload beside it (that call keeps the
        # topics before): a document to make one, then the log line that the reload is done
        send_documents(settings, [document("nudge", "Stocks open flat ahead of the jobs report")])
        wait_until(lambda: f"topics file {path} reloaded" in worker.log_tail(20_000), 120, "the reload")
        send_documents(settings, [document("second", SECOND)])
        wait_until(lambda: "second" in user_topics_of(settings), 120, "the second document archived")
        assert user_topics_of(settings)["second"] == "Hacks and exploits", worker.log_tail()

        path.write_text("topics: [this is not, valid")
        send_documents(settings, [document("third", THIRD)])
        wait_until(lambda: "third" in user_topics_of(settings), 120, "the third document archived")
        assert user_topics_of(settings)["third"] == "Hacks and exploits", "the last good file is kept"
    finally:
        assert worker.stop() == 0, worker.log_tail()
    assert "topics file not reloaded, keeping the previous one" in worker.log_tail(20_000)
    keyed = read_topic(settings.broker_url, TopicNames(settings.topic_prefix).keyed)
    entries = window_entries([r.value for r in keyed])
    counted = {(e.id, key) for e in entries for key in e.keys}
    assert {("second", "topic:Hacks and exploits"), ("third", "topic:Hacks and exploits")} <= counted
    assert not any(key.startswith("topic:") for doc_id, key in counted if doc_id == "first")

"""The compact record of where an ingest's documents landed."""

from __future__ import annotations

import random

from stream.ingest.outcome import IngestSummary, SentRecords


def test_sent_positions_are_known_in_any_acknowledgement_order() -> None:
    positions = [(p, o) for p in range(3) for o in range(100, 400, 3)]
    random.Random(5).shuffle(positions)
    sent = SentRecords()
    for partition, offset in positions:
        sent.add(partition, offset)
    sent.add(*positions[0])  # a repeat adds nothing
    assert sent.count == len(positions)
    assert all(p in sent for p in positions)
    assert (0, 101) not in sent and (0, 99) not in sent and (7, 100) not in sent and (1, None) not in sent
    assert sent.below(1, 103) == 1 and sent.below(1, 400) == 100 and sent.below(1, 0) == 0
    assert sent.partitions() == [0, 1, 2]


def test_the_summary_says_what_is_not_finished() -> None:
    done = IngestSummary(sent=10, finished=10, scored=7, deadletters=1, late=2)
    assert done.duplicates == 2
    assert done.line() == "sent 10, scored 7, duplicates 2, dead letters 1, late 2"
    assert "3 not finished yet" in IngestSummary(sent=10, finished=7, scored=7).line()

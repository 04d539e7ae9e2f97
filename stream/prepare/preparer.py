"""From raw bytes to a clean Document ready to score: decode, clean, scrub, tickers, duplicates.

Pure (no I/O): the classify agent calls it per record; replay can call it on raw documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from common.records import Document, InvalidRecord, RejectReason
from stream.prepare.dedupe import DuplicateDetector, Verdict
from stream.prepare.documents import decode_document
from stream.prepare.entities import EntitySource
from stream.prepare.normalize import clean_text, pseudonymize, scrub_personal_data
from stream.settings import StreamSettings


@dataclass(frozen=True)
class Prepared:
    document: Document
    duplicate: Verdict


class LaneDuplicates:
    """One duplicate table per input lane (raw partition).

    The raw topic is keyed by story (``story_partition_key``), so copies of one story share a lane; a
    table per lane then makes the same decisions however the lanes are spread over workers, and the
    worker that takes a lane over rebuilds its table from what the lane published before.
    """

    def __init__(self, ttl_s: float, max_entries: int, max_distance: int) -> None:
        self.ttl_s, self.max_entries, self.max_distance = ttl_s, max_entries, max_distance
        self.tables: dict[int | None, DuplicateDetector] = {}

    def table(self, lane: int | None) -> DuplicateDetector:
        if lane not in self.tables:
            self.tables[lane] = DuplicateDetector(self.ttl_s, self.max_entries, self.max_distance)
        return self.tables[lane]

    def check(self, lane: int | None, document: Document) -> Verdict:
        return _checked(self.table(lane), document)

    def rebuilt(self, published: Iterable[Document]) -> DuplicateDetector:
        """A fresh table holding the documents a lane published before (in their order). Touches no
        table in use, so a worker taking a lane over builds it off the event loop."""
        table = DuplicateDetector(self.ttl_s, self.max_entries, self.max_distance)
        for document in published:
            _checked(table, document)
        return table

    def restart(self, lane: int, table: DuplicateDetector) -> None:
        """``lane``'s table from now on (``rebuilt``)."""
        self.tables[lane] = table


def _checked(table: DuplicateDetector, document: Document) -> Verdict:
    return table.check(document.id, document.text, document.published_at.timestamp())


class DocumentPreparer:
    def __init__(
        self,
        entities: EntitySource,
        duplicates: LaneDuplicates,
        pseudonym_key: bytes,
        max_document_bytes: int,
        max_text_chars: int,
        max_future: timedelta = timedelta(minutes=15),
    ) -> None:
        self.entities = entities
        self.duplicates = duplicates
        self.pseudonym_key = pseudonym_key
        self.max_document_bytes = max_document_bytes
        self.max_text_chars = max_text_chars
        self.max_future = max_future

    @classmethod
    def from_settings(cls, settings: StreamSettings, pseudonym_key: bytes) -> DocumentPreparer:
        return cls(
            entities=EntitySource.from_settings(settings),
            duplicates=LaneDuplicates(
                settings.dedupe_ttl_s, settings.dedupe_max_entries, settings.dedupe_max_distance
            ),
            pseudonym_key=pseudonym_key,
            max_document_bytes=settings.max_document_bytes,
            max_text_chars=settings.max_text_chars,
            max_future=timedelta(seconds=settings.max_future_s),
        )

    def first_copies(self, documents: Iterable[Document]) -> list[Document]:
        """The documents cleaned, without repeats: what the classify agent would score (replay, tests)."""
        prepared = (self.prepare(document.dumps()) for document in documents)
        return [p.document for p in prepared if not p.duplicate.duplicate]

    def clean(self, payload: bytes | None, now: datetime | None = None) -> Document:
        """The decoded, cleaned and scrubbed document; InvalidRecord if it is unusable."""
        raw = decode_document(payload, max_bytes=self.max_document_bytes)
        limit = min(raw.received_at, now or datetime.now(UTC)) + self.max_future
        if raw.published_at > limit:
            raise InvalidRecord(
                RejectReason.FUTURE_TIMESTAMP,
                f"published_at {raw.published_at.isoformat()} is more than {self.max_future} after it was "
                f"received ({raw.received_at.isoformat()}); TAPEWATCH_MAX_FUTURE_S sets how far is allowed",
            )
        title = scrub_personal_data(clean_text(raw.title, self.max_text_chars))
        body = scrub_personal_data(clean_text(raw.body, self.max_text_chars))
        if not (title or body):
            raise InvalidRecord(RejectReason.EMPTY_TEXT, "no text left after removing markup and whitespace")
        return raw.derive(
            title=title,
            body=body,
            author=pseudonymize(raw.author, self.pseudonym_key)
            if not raw.author.startswith("anon-")
            else raw.author,
            tickers=self.entities.current().tickers(f"{raw.title} {raw.body}", raw.tickers),
        )

    def prepare(self, payload: bytes | None, lane: int | None = None) -> Prepared:
        """The cleaned document and whether it repeats an earlier one of its lane (see ``clean``)."""
        document = self.clean(payload)
        return Prepared(document, self.duplicates.check(lane, document))

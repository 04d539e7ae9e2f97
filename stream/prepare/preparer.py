"""From raw bytes to a clean Document ready to score: decode, clean, scrub, tickers, duplicates.

Pure (no I/O): the classify agent calls it per record; replay can call it on raw documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from common.records import Document, InvalidRecord, RejectReason
from stream.prepare.dedupe import DuplicateDetector, Verdict
from stream.prepare.documents import decode_document
from stream.prepare.normalize import clean_text, pseudonymize, scrub_personal_data
from stream.prepare.tickers import TickerExtractor, load_watchlist
from stream.settings import StreamSettings


@dataclass(frozen=True)
class Prepared:
    document: Document
    duplicate: Verdict


class DocumentPreparer:
    def __init__(
        self,
        tickers: TickerExtractor,
        duplicates: DuplicateDetector,
        pseudonym_key: bytes,
        max_document_bytes: int,
        max_text_chars: int,
    ) -> None:
        self.tickers = tickers
        self.duplicates = duplicates
        self.pseudonym_key = pseudonym_key
        self.max_document_bytes = max_document_bytes
        self.max_text_chars = max_text_chars

    @classmethod
    def from_settings(cls, settings: StreamSettings, pseudonym_key: bytes) -> DocumentPreparer:
        return cls(
            tickers=TickerExtractor(load_watchlist(settings.watchlist_path)),
            duplicates=DuplicateDetector(
                settings.dedupe_ttl_s, settings.dedupe_max_entries, settings.dedupe_max_distance
            ),
            pseudonym_key=pseudonym_key,
            max_document_bytes=settings.max_document_bytes,
            max_text_chars=settings.max_text_chars,
        )

    def first_copies(self, documents: Iterable[Document]) -> list[Document]:
        """The documents cleaned, without repeats: what the classify agent would score (replay, tests)."""
        prepared = (self.prepare(document.dumps()) for document in documents)
        return [p.document for p in prepared if not p.duplicate.duplicate]

    def prepare(self, payload: bytes | None) -> Prepared:
        """The cleaned document and whether it repeats an earlier one; InvalidRecord if unusable."""
        raw = decode_document(payload, max_bytes=self.max_document_bytes)
        title = scrub_personal_data(clean_text(raw.title, self.max_text_chars))
        body = scrub_personal_data(clean_text(raw.body, self.max_text_chars))
        if not (title or body):
            raise InvalidRecord(RejectReason.EMPTY_TEXT, "no text left after removing markup and whitespace")
        document = raw.derive(
            title=title,
            body=body,
            author=pseudonymize(raw.author, self.pseudonym_key)
            if not raw.author.startswith("anon-")
            else raw.author,
            tickers=self.tickers.extract(f"{raw.title} {raw.body}", raw.tickers),
        )
        verdict = self.duplicates.check(document.id, document.text, document.published_at.timestamp())
        return Prepared(document, verdict)

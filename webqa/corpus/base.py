"""Types shared by the corpus kinds: the ``Corpus`` protocol, progress callbacks, index stats,
the query bound and the context-manager behaviour every corpus has."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from webqa.records import Document, SearchResult

__all__ = [
    "Corpus",
    "Progress",
    "IndexStats",
    "MAX_INDEX_CHARS",
    "MAX_FETCH_BYTES",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "bound_query",
    "shorten",
    "ClosingCorpus",
]

log = logging.getLogger("webqa.corpus")

#: ``progress(done, total, item)``: ``done`` items handled so far, ``total`` when known (else
#: None), ``item`` names the file or record just handled. Called from the indexing thread.
Progress = Callable[[int, "int | None", str], None]

#: Text beyond this many characters of one document is left out of the index (the page itself
#: is still served whole): it keeps bm25 lengths and snippet() time sane for giant files.
MAX_INDEX_CHARS = 1_000_000

#: Bodies larger than this are refused by ``fetch`` (a local stand-in for a live fetcher's cap).
MAX_FETCH_BYTES = 32 * 1024 * 1024

#: A search query is cut to its first ``MAX_QUERY_CHARS`` characters (at a word boundary) and
#: then to its first ``MAX_QUERY_WORDS`` words before any analysis: a question is far shorter,
#: and the phrase and term heuristics must not see a megabyte of model output.
MAX_QUERY_CHARS = 1_000
MAX_QUERY_WORDS = 64


def bound_query(query: str) -> str:
    """``query`` cut to ``MAX_QUERY_CHARS`` characters and ``MAX_QUERY_WORDS`` words, with lone
    surrogates (which no index or archive can encode) replaced by ``?``.

    A query within both bounds is returned unchanged.
    """
    head = query
    if len(head) > MAX_QUERY_CHARS:
        head = head[: MAX_QUERY_CHARS + 1]
        cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
        head = head[:cut] if cut > 0 else head[:MAX_QUERY_CHARS]
    parts = head.split()
    if len(parts) > MAX_QUERY_WORDS:
        head = " ".join(parts[:MAX_QUERY_WORDS])
    if head is not query:
        log.info("search query cut from %d to %d characters", len(query), len(head))
    try:
        head.encode("utf-8")
    except UnicodeEncodeError:
        head = head.encode("utf-8", "replace").decode("utf-8")
    return head


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for echoing input in messages."""
    return text if len(text) <= limit else text[:limit] + "…"


@runtime_checkable
class Corpus(Protocol):
    """An offline corpus: one object that is both a ``SearchEngine`` and a ``DocumentSource``.

    ``name`` is ``"<kind>:<label>"`` (for example ``"zim:wikipedia_en_ray_charles"``);
    ``label`` is the host part of the corpus' URLs (``zim://<label>/...``).
    """

    name: str
    kind: str
    label: str

    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Return at most ``limit`` results, best first."""
        ...

    def fetch(self, url: str) -> Document:
        """Return the stored document at ``url`` or raise ``FetchError``."""
        ...

    def close(self) -> None:
        """Release files and database connections."""
        ...


@dataclass
class IndexStats:
    """What one index build or refresh did (returned by :func:`webqa.corpus.build_index`)."""

    kind: str
    source: Path
    index_path: Path | None
    documents: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (paths as strings)."""
        d = asdict(self)
        d["source"] = str(self.source)
        d["index_path"] = str(self.index_path) if self.index_path else None
        return d

    def __str__(self) -> str:
        counts = (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped"
        )
        where = f"; index {self.index_path}" if self.index_path else ""
        return (
            f"{self.kind} {self.source}: {self.documents} documents ({counts}) "
            f"in {self.seconds:.1f} s{where}"
        )


class ClosingCorpus:
    """Context-manager behaviour shared by every corpus: ``with open_corpus(p) as c: ...``.

    Subclasses implement ``close()`` (idempotent); leaving the ``with`` block calls it.
    """

    def close(self) -> None:
        """Release files and database connections (idempotent)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

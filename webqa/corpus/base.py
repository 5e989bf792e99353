"""Types shared by the corpus kinds: the ``Corpus`` protocol, progress callbacks, index stats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from webqa.records import Document, SearchResult

__all__ = ["Corpus", "Progress", "IndexStats", "MAX_INDEX_CHARS", "MAX_FETCH_BYTES"]

#: ``progress(done, total, item)``: ``done`` items handled so far, ``total`` when known (else
#: None), ``item`` names the file or record just handled. Called from the indexing thread.
Progress = Callable[[int, "int | None", str], None]

#: Text beyond this many characters of one document is left out of the index (the page itself
#: is still served whole): it keeps bm25 lengths and snippet() time sane for giant files.
MAX_INDEX_CHARS = 1_000_000

#: Bodies larger than this are refused by ``fetch`` (a local stand-in for a live fetcher's cap).
MAX_FETCH_BYTES = 32 * 1024 * 1024


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
        counts = (f"{self.added} added, {self.updated} updated, {self.removed} removed, "
                  f"{self.unchanged} unchanged, {len(self.skipped)} skipped")
        where = f"; index {self.index_path}" if self.index_path else ""
        return (f"{self.kind} {self.source}: {self.documents} documents ({counts}) "
                f"in {self.seconds:.1f} s{where}")

"""Offline corpora: a folder of pages, a Kiwix ZIM archive or a WARC web archive.

Each corpus is one object that is both a :class:`~webqa.protocols.SearchEngine` and a
:class:`~webqa.protocols.DocumentSource` (see :class:`Corpus`), and a context manager
(``with open_corpus(path) as corpus: ...`` closes it; ``close()`` is idempotent, and a closed
corpus raises ``SearchError`` / ``FetchError``). Folder and WARC corpora share one FTS5-backed
base, :class:`~webqa.corpus.fts.IndexedCorpus`. :func:`open_corpus` picks the kind
from the path; :func:`build_index` builds or refreshes a corpus' search index ahead of time
(what ``webqa index PATH`` runs).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webqa.errors import ConfigError

from .base import Corpus, IndexStats, Progress
from .cache import index_dir, user_data_dir

if TYPE_CHECKING:
    from .folder import FolderCorpus
    from .warc import WarcCorpus
    from .zim import ZimCorpus

__all__ = [
    "Corpus",
    "IndexStats",
    "Progress",
    "open_corpus",
    "build_index",
    "FolderCorpus",
    "ZimCorpus",
    "WarcCorpus",
    "user_data_dir",
    "index_dir",
]

# Each kind is imported when first used: a folder needs neither libzim nor warcio, and
# those imports are a good part of a short run's start-up time.
_LAZY = {"FolderCorpus": ".folder", "WarcCorpus": ".warc", "ZimCorpus": ".zim"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _kind(path: Path) -> str:
    if not path.exists():
        raise ConfigError(f"corpus path does not exist: {path}")
    if path.is_dir():
        return "folder"
    if path.suffix.lower() == ".zim":
        return "zim"
    from .warc import is_warc

    if is_warc(path):
        return "warc"
    raise ConfigError(
        f"unknown corpus type: {path} (expected a folder, a .zim file, or a .warc / .warc.gz file)"
    )


def open_corpus(
    path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> Corpus:
    """Open the corpus at ``path``: a folder, a ``.zim`` file or a ``.warc``/``.warc.gz`` file.

    Folder and WARC indexes are kept in ``cache_dir`` (default ``<user data dir>/index``) and
    brought up to date first, reporting through ``progress(done, total, item)``.
    Raises ``ConfigError`` for a missing path, an unknown file type, a corrupt archive or a
    corpus without a single page. A damaged index is rebuilt from the source (with a warning
    on the ``webqa.corpus`` logger); a second process opening the same folder meanwhile waits
    for the first one's refresh instead of racing it.
    """
    p = Path(path).expanduser()
    kind = _kind(p)
    if kind == "folder":
        from .folder import FolderCorpus

        return FolderCorpus(p, cache_dir=cache_dir, progress=progress)
    if kind == "zim":
        from .zim import ZimCorpus

        return ZimCorpus(p, cache_dir=cache_dir)
    from .warc import WarcCorpus

    return WarcCorpus(p, cache_dir=cache_dir, progress=progress)


def build_index(
    path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    full: bool = False,
) -> IndexStats:
    """Build or refresh the search index of the corpus at ``path`` and report what was done.

    ``build_index(path, *, cache_dir=None, progress=None, full=False) -> IndexStats``

    - ``path``: a folder, ``.zim``, ``.warc`` or ``.warc.gz``.
    - ``cache_dir``: where indexes live (default ``<user data dir>/index``; the user data dir
      is ``$WEBQA_HOME`` when set).
    - ``progress(done: int, total: int | None, item: str)``: called after each file (folder),
      indexed record (WARC, ``total`` None) or archive entry (ZIM).
    - ``full``: compare every file of a folder with the index (mtime and size), not only each
      subfolder's mtime: this finds files rewritten in place in a large folder (``webqa index
      --full PATH``).

    Folders are refreshed incrementally (only new or changed files are read, removed files
    leave the index); a WARC is re-indexed when its size or mtime changed. A ZIM archive
    carries its own index: what is built is the store of its articles' scoring data that its
    search reads (see :mod:`webqa.corpus.zimsearch`), so that no later search decompresses an
    article again (``added``: articles stored now). Raises ``ConfigError`` as
    :func:`open_corpus` does.
    """
    p = Path(path).expanduser()
    kind = _kind(p)
    start = time.monotonic()
    if kind == "zim":
        from .zim import ZimCorpus

        with ZimCorpus(p, cache_dir=cache_dir) as zim:
            count = zim.archive.article_count
            added = zim.prefill(progress)
            stats = IndexStats(
                "zim", zim.path, None, documents=count, added=added, unchanged=max(0, count - added)
            )
    else:
        corpus: FolderCorpus | WarcCorpus
        if kind == "folder":
            from .folder import FolderCorpus

            corpus = FolderCorpus(p, cache_dir=cache_dir, progress=progress, full=full)
        else:
            from .warc import WarcCorpus

            corpus = WarcCorpus(p, cache_dir=cache_dir, progress=progress)
        with corpus:
            stats = corpus.last_refresh or corpus.refresh()
    stats.seconds = time.monotonic() - start
    return stats

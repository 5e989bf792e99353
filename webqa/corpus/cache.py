"""Where webqa keeps its data: the user data dir and the corpus index cache beneath it."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ..paths import user_dir as user_data_dir

__all__ = ["user_data_dir", "index_dir", "index_file"]


def index_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory that holds corpus indexes: ``cache_dir`` or ``<user data dir>/index``."""
    return Path(cache_dir).expanduser() if cache_dir is not None else user_data_dir() / "index"


def index_file(
    source: str | os.PathLike[str], kind: str, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The SQLite index file for ``source`` (a folder or WARC file) of the given ``kind``.

    The name carries a readable stem plus a hash of the absolute path, so two folders that
    share a name do not share an index.
    """
    resolved = Path(source).expanduser().resolve()
    digest = hashlib.sha1(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.name)[:40] or kind
    return index_dir(cache_dir) / f"{kind}-{stem}-{digest}.sqlite3"

"""Where webqa keeps its files: one user data dir, settable by one environment variable."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["user_dir"]


def user_dir() -> Path:
    """``$WEBQA_HOME`` when set, else the platform's user data dir (``~/.local/share/webqa``)."""
    home = os.environ.get("WEBQA_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs  # imported on use: keeps start-up fast

    return Path(platformdirs.user_data_dir("webqa", appauthor=False))

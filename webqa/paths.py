"""What webqa reads from the environment before anything heavy is imported: where it keeps its
files (one user data dir, settable by one environment variable) and whether an LLM is
configured."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["user_dir", "llm_configured"]


def user_dir() -> Path:
    """``$WEBQA_HOME`` when set, else the platform's user data dir (``~/.local/share/webqa``)."""
    home = os.environ.get("WEBQA_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs  # imported on use: keeps start-up fast

    return Path(platformdirs.user_data_dir("webqa", appauthor=False))


def llm_configured(model: str | None = None, base_url: str | None = None) -> bool:
    """Whether an LLM is configured: a model name or a base URL, given or in the environment
    (``WEBQA_MODEL``, ``OPENAI_BASE_URL``). Asked before the LLM client (and the openai
    package, a large import) is loaded."""
    return bool(
        model or base_url or os.environ.get("WEBQA_MODEL") or os.environ.get("OPENAI_BASE_URL")
    )

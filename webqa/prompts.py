"""Prompt templates: found on disk, rendered with Jinja2 (undefined names are errors).

Lookup order: ``$WEBQA_PROMPTS`` (a folder of your own templates), the copy shipped inside the
installed package (``webqa/prompts``), then the repository's top-level ``prompts/`` folder.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["prompts_dir", "render", "load"]

_PACKAGE = Path(__file__).resolve().parent


def prompts_dir() -> Path:
    """The folder templates are read from."""
    override = os.environ.get("WEBQA_PROMPTS")
    candidates = [Path(override)] if override else []
    candidates += [_PACKAGE / "prompts", _PACKAGE.parent / "prompts"]
    for folder in candidates:
        if (folder / "observation.j2").is_file():
            return folder
    raise ConfigError(f"prompt templates not found (looked in {', '.join(map(str, candidates))})")


@lru_cache(maxsize=4)
def _environment(folder: str) -> Any:
    import jinja2  # imported on first use: keeps `webqa --help` fast

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def load(name: str) -> str:
    """The raw text of a prompt file (e.g. ``system.md``)."""
    path = prompts_dir() / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read prompt {path}: {exc}") from exc


def render(name: str, **values: Any) -> str:
    """Render the template ``name`` with ``values``."""
    import jinja2

    try:
        return _environment(str(prompts_dir())).get_template(name).render(**values).strip() + "\n"
    except jinja2.TemplateError as exc:
        raise ConfigError(f"prompt template {name}: {exc}") from exc

"""Everything the model reads: templates rendered with Jinja2 (undefined names are errors),
the command list (``commands.toml``) and every message of the browser and the loop
(``messages.toml``, Python format strings).

Lookup order: ``$WEBQA_PROMPTS`` (a folder of your own templates), the copy shipped inside the
installed package (``webqa/prompts``), then the repository's top-level ``prompts/`` folder.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = [
    "prompts_dir",
    "render",
    "load",
    "table",
    "message",
    "message_of",
    "commands",
    "system",
    "digests",
]

_PACKAGE = Path(__file__).resolve().parent


def prompts_dir() -> Path:
    """The folder templates are read from (``$WEBQA_PROMPTS``, else the shipped one)."""
    return _prompts_dir(os.environ.get("WEBQA_PROMPTS"))


@lru_cache(maxsize=8)  # every message of every step looks it up: look on disk once
def _prompts_dir(override: str | None) -> Path:
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
        bytecode_cache=_bytecode_cache(jinja2),
    )


def _bytecode_cache(jinja2: Any) -> Any:
    """Compiled templates kept in ``<user data dir>/templates``: compiling the observation
    template costs 6-12 ms in every new process, loading it 0.3 ms. Jinja keys each file by
    template path and source checksum, and stamps it with its own and Python's version, so
    an edited template or an upgrade compiles afresh. A cache that cannot be written is no
    cache, never an error."""
    from .paths import user_dir

    class Cache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: Any) -> None:
            try:
                os.makedirs(self.directory, exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError:
                pass

        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged file (any bytes at all): compile afresh
                bucket.reset()

    return Cache(str(user_dir() / "templates"))


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


@lru_cache(maxsize=4)
def _table(folder: str, name: str) -> dict[str, Any]:
    path = Path(folder) / name
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def table(name: str) -> dict[str, Any]:
    """The TOML file ``name`` of the prompts folder, parsed (read once)."""
    return _table(str(prompts_dir()), name)


def message(key: str, /, **fields: Any) -> str:
    """The message ``key`` of ``messages.toml`` with ``fields`` filled in."""
    return message_of("messages.toml", key, **fields)


def message_of(file: str, key: str, /, *, section: str | None = None, **fields: Any) -> str:
    """The message ``key`` of the TOML file ``file`` (under its ``[section]`` when given),
    with ``fields`` filled in (any names, ``name`` and ``key`` included)."""
    found: Any = table(file)
    try:
        if section is not None:
            found = found[section]
        return str(found[key]).format(**fields)
    except KeyError as exc:
        raise ConfigError(f"{file}: no message {key!r} or no field {exc}") from exc


def commands() -> list[dict[str, str]]:
    """The command forms the model is taught, in order: ``kind``, ``form``, ``help``,
    ``example`` (from ``commands.toml``)."""
    return [
        {"kind": entry.get("kind", name), **entry} for name, entry in table("commands.toml").items()
    ]


def system(**limits: Any) -> str:
    """The browsing system prompt: ``system.j2`` with the command list and the quote limits
    (``max_quotes``, ``max_quote_chars``; the defaults when not given)."""
    values = {"max_quotes": 10, "max_quote_chars": 1500, **limits}
    return render("system.j2", commands=commands(), **values).strip()


def digests() -> dict[str, str]:
    """A short SHA-256 of every prompt file, for the trace's ``run`` event: a trace says which
    prompts produced it."""
    folder = prompts_dir()
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12]
        for p in sorted(folder.iterdir())
        if p.is_file()
    }

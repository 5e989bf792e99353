"""Traces: one JSONL file per run, one event per line, flushed as written (DESIGN §5).

Events: ``run`` (format, question, config, versions), ``page`` (a snapshot of each page the
first time it is shown, enough to replay offline), ``step``, ``answer``, and ``end`` (always
written, also when the run fails or is interrupted). A killed run keeps every finished step.

Writing never fails because of what an event holds: characters UTF-8 cannot encode (lone
surrogates) become U+FFFD, and values JSON cannot hold are written as their ``str()``.
Writing after :meth:`TraceWriter.close` raises :class:`~webqa.errors.ConfigError` (the caller
used a finished run's writer), and so does a file the system refuses to write.

Reading checks its input (:func:`load_trace`): a file that is not a webqa trace, or a trace of a
format this version cannot read, is a :class:`~webqa.errors.ConfigError`; a damaged line (bad
bytes, not JSON, not an event, a key missing or of the wrong type) is skipped and reported in
:attr:`TraceFile.bad_lines`; a trace without an ``end`` event is :attr:`TraceFile.cut_off`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import ConfigError
from .paths import user_dir

__all__ = [
    "FORMAT",
    "SUPPORTED_FORMATS",
    "TraceWriter",
    "new_run_id",
    "TraceFile",
    "load_trace",
    "parse_trace",
    "check_events",
    "read_trace",
    "iter_trace",
    "default_trace_path",
    "user_dir",
]

FORMAT = "webqa-trace/1"
SUPPORTED_FORMATS = (FORMAT,)
"""The trace formats this version reads."""

_FORMAT_PREFIX = "webqa-trace/"
_HEADER_LINES = 16
"""How many non-empty lines may precede the ``run`` event before a file is not a trace."""
_MAX_DEPTH = 64
"""Nesting depth past which the writer's fallback stops descending into a value."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

log = logging.getLogger("webqa.trace")


def default_trace_path(run_id: str) -> Path:
    """Where a run's trace goes when no path is given: ``<user dir>/traces/<date>-<id>.jsonl``."""
    return user_dir() / "traces" / f"{time.strftime('%Y%m%d-%H%M%S')}-{run_id[:8]}.jsonl"


def new_run_id() -> str:
    """A fresh run id: 32 random hex digits (a UUID4's worth of randomness, without loading
    the ``uuid`` module, which costs a few ms of start-up)."""
    return os.urandom(16).hex()


class TraceWriter:
    """Appends events to a JSONL file; every event carries ``type``, ``t`` and ``run``.

    A context manager: leaving the ``with`` block closes the file. :meth:`close` is idempotent;
    :meth:`write` after it raises :class:`ConfigError`.
    """

    def __init__(self, path: str | Path | None = None, *, run_id: str | None = None) -> None:
        self.run_id = run_id or new_run_id()
        self.path = Path(path) if path else default_trace_path(self.run_id)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Binary, so one event is one encoded write and no text layer can fail half-way.
            self._file = self.path.open("ab")
        except OSError as exc:
            raise ConfigError(f"cannot write the trace to {self.path}: {exc}") from exc
        self._start = time.monotonic()
        self.closed = False

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, type_: str, **fields: Any) -> None:
        """Write one event and flush it to the file.

        Content never makes this fail (see the module docstring); ``type``, ``t`` and ``run``
        are always the writer's own. Raises :class:`ConfigError` when the writer is closed or
        the file cannot be written.
        """
        if self.closed:
            raise ConfigError(f"the trace {self.path} is closed; cannot write a {type_!r} event")
        event: dict[str, Any] = {
            "type": type_,
            "t": round(time.monotonic() - self._start, 4),
            "run": self.run_id,
        }
        event.update((k, v) for k, v in fields.items() if k not in event)
        data = _encode(event)
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            raise ConfigError(f"cannot write the trace to {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self.closed:
            self.closed = True
            try:
                self._file.close()
            except OSError as exc:
                raise ConfigError(f"cannot finish the trace {self.path}: {exc}") from exc


def _encode(event: dict[str, Any]) -> bytes:
    """One JSON line, UTF-8; falls back to a cleaned copy when the plain dump cannot be had."""
    try:
        text = json.dumps(event, ensure_ascii=False, allow_nan=False, default=_jsonable)
        return (text + "\n").encode("utf-8")
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError) as exc:
        log.warning(
            "trace event %r needed cleaning to be written: %s",
            _clean_text(str(event.get("type"))),
            type(exc).__name__,
        )
    text = json.dumps(_clean(event, 0, set()), ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _clean_text(text: str) -> str:
    """``text`` with what UTF-8 cannot encode replaced: surrogate pairs are joined first."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _clean(value: Any, depth: int, seen: set[int]) -> Any:
    """A copy of ``value`` that ``json.dumps`` always accepts (no cycles, no NaN, valid text)."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _clean_text(value)
    if depth >= _MAX_DEPTH or id(value) in seen:
        return f"<{type(value).__name__} not written: nested too deep or circular>"
    if is_dataclass(value) and not isinstance(value, type):
        # Any failure here falls back to str() below.
        with contextlib.suppress(Exception):
            value = asdict(value)
    seen = seen | {id(value)}
    if isinstance(value, dict):
        return {
            _clean_text(k if isinstance(k, str) else _safe_str(k)): _clean(v, depth + 1, seen)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v, depth + 1, seen) for v in value]
    return _clean_text(_safe_str(value))


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a foreign __str__ may raise anything
        return f"<{type(value).__name__} object>"


# ---------------------------------------------------------------------------------- reading


@dataclass
class TraceFile:
    """A checked trace: its good events, and what was wrong with the rest.

    ``events`` hold only well-formed events (each type's keys present with the right types; the
    optional ones filled in), in file order. ``bad_lines`` lists ``(line number, reason)`` for
    every line skipped.
    """

    path: str
    events: list[dict[str, Any]]
    run: dict[str, Any]
    end: dict[str, Any] | None
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    format: str = FORMAT

    @property
    def cut_off(self) -> bool:
        """The run stopped without an ``end`` event (killed, or the file was cut)."""
        return self.end is None

    @property
    def complete(self) -> bool:
        """Every line was read and the run ended: the trace holds the whole run."""
        return self.end is not None and not self.bad_lines

    @property
    def question(self) -> str:
        """The run's question."""
        return str(self.run.get("question", ""))

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The ``step`` events, in file order."""
        return [e for e in self.events if e["type"] == "step"]

    @property
    def pages(self) -> list[dict[str, Any]]:
        """The ``page`` events, in file order."""
        return [e for e in self.events if e["type"] == "page"]

    @property
    def answer(self) -> dict[str, Any] | None:
        """The last ``answer`` event, if the run got one."""
        return next((e for e in reversed(self.events) if e["type"] == "answer"), None)

    @property
    def last_step(self) -> int:
        """The number of the last recorded step (0 when there is none)."""
        return max((e["n"] for e in self.steps), default=0)


def load_trace(path: str | Path) -> TraceFile:
    """Read and check the trace at ``path``.

    Raises :class:`ConfigError` when the file cannot be read, is not a webqa trace, or is of a
    format this version does not read; damaged lines are skipped and reported instead.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read trace {path}: {exc}") from exc
    return parse_trace(data, str(path))


def parse_trace(data: bytes, source: str = "<trace>") -> TraceFile:
    """Check a trace's bytes as :func:`load_trace` does; ``source`` names it in messages."""
    return _check(_parse_lines(data), source)


def check_events(events: Iterable[Any], source: str = "<events>") -> TraceFile:
    """Check events already in memory (``read_trace``'s output, or built by hand) as a trace."""
    return _check(((n, e, "") for n, e in enumerate(events, 1)), source)


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """The good events of a trace (see :func:`load_trace`, which also says what was skipped)."""
    return load_trace(path).events


def iter_trace(path: str | Path) -> Iterator[dict[str, Any]]:
    """Iterate over a trace's good events."""
    return iter(read_trace(path))


def _parse_lines(data: bytes) -> Iterator[tuple[int, Any, str]]:
    """``(line number, parsed value or None, reason it could not be parsed)`` per non-empty line."""
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, None, f"not UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
            continue
        try:
            value = json.loads(text)
        except RecursionError:
            yield number, None, "not JSON (nested too deep)"
            continue
        except ValueError as exc:  # JSONDecodeError, and over-long integers
            yield number, None, f"not JSON ({_short(str(exc))})"
            continue
        if _SURROGATE_ESCAPE.search(text):
            # JSON can spell a lone surrogate; no file or terminal can take it back.
            value = _clean(value, 0, set())
        yield number, value, ""


def _check(lines: Iterable[tuple[int, Any, str]], source: str) -> TraceFile:
    events: list[dict[str, Any]] = []
    bad: list[tuple[int, str]] = []
    run: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    seen = 0
    for number, value, reason in lines:
        seen += 1
        if run is None:
            if not reason and isinstance(value, dict):
                run = _check_header(value, source)
                events.append(run)
                continue
            if seen >= _HEADER_LINES:
                break
            bad.append((number, reason or f"not an event (it is {_kind(value)})"))
            continue
        if reason:
            bad.append((number, reason))
            continue
        problem = _check_event(value)
        if problem:
            bad.append((number, problem))
            continue
        if value["type"] == "run":
            bad.append((number, "a second run event"))
            continue
        events.append(value)
        if value["type"] == "end":
            end = value
    if run is None:
        why = "empty file" if not seen else "no run event at its start"
        raise ConfigError(f"{source} is not a webqa trace ({why})")
    if bad:
        shown = "; ".join(f"line {n}: {r}" for n, r in bad[:3])
        more = f"; and {len(bad) - 3} more" if len(bad) > 3 else ""
        log.warning("%s: %d bad line(s) skipped (%s%s)", source, len(bad), shown, more)
    fmt = str(run["format"])
    return TraceFile(source, events, run, end, bad, fmt)


def _check_header(value: dict[str, Any], source: str) -> dict[str, Any]:
    """The ``run`` event, checked; anything else first in the file is not a trace."""
    fmt = value.get("format")
    if value.get("type") != "run" or not isinstance(fmt, str) or not fmt.startswith(_FORMAT_PREFIX):
        what = (
            f"format {_short(repr(fmt))}"
            if value.get("type") == "run"
            else f"its first event is {_short(repr(value.get('type')))}, not 'run'"
        )
        raise ConfigError(f"{source} is not a webqa trace ({what})")
    if fmt not in SUPPORTED_FORMATS:
        raise ConfigError(
            f"{source} is a trace of format {_short(repr(fmt))}, which this webqa "
            f"cannot read (it reads {', '.join(SUPPORTED_FORMATS)})"
        )
    problem = _check_event(value)
    if problem:
        raise ConfigError(f"{source}: its run event is damaged ({problem})")
    return value


_Types = tuple[type, ...]
_UNSET = object()
"""A default meaning: checked when present, left absent otherwise."""
_STR: _Types = (str,)
_INT: _Types = (int,)
_OPT_STR: _Types = (str, type(None))
_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    # key: (accepted types, default when absent; ... means required, _UNSET left absent)
    "run": {
        "format": (_STR, ...),
        "question": (_STR, ""),
        "config": ((dict,), {}),
        "versions": ((dict,), {}),
    },
    "page": {
        "key": (_STR, ...),
        "url": (_STR, ""),
        "title": (_STR, ""),
        "lines": ((list,), ...),
        "links": ((dict,), {}),
        "notes": ((list,), []),
    },
    "step": {
        "n": (_INT, ...),
        "observation": (_STR, ...),
        "action": (_STR, ""),
        "command": (_OPT_STR, None),
        "error": (_OPT_STR, None),
        "usage": ((dict,), {}),
    },
    "answer": {
        "text": (_STR, ""),
        "raw": (_OPT_STR, _UNSET),
        "citations": ((list,), []),
        "quotes": ((list,), []),
    },
    "end": {"status": (_STR, ...), "error": (_OPT_STR, None), "usage": ((dict,), {})},
}
_CITATION: dict[str, _Types] = {"n": _INT, "url": _STR, "title": _STR, "quote": _STR}
_QUOTE: dict[str, _Types] = {"url": _STR, "title": _STR, "text": _STR}
_LINK: dict[str, _Types] = {"url": _STR, "text": _STR}
_LINK_ID = re.compile(r"\d{1,9}")


def _check_event(value: Any) -> str:
    """What is wrong with ``value`` as an event ('' when nothing); fills in optional keys."""
    if not isinstance(value, dict):
        return f"not an event (it is {_kind(value)})"
    type_ = value.get("type")
    if not isinstance(type_, str):
        return "no 'type'" if type_ is None else f"'type' is {_kind(type_)}"
    schema = _SCHEMA.get(type_)
    if schema is None:
        return ""  # a kind of event this version does not know: kept, and ignored by the tools
    for key, (types, default) in schema.items():
        if key not in value:
            if default is ...:
                return f"{type_} event without {key!r}"
            if default is not _UNSET:
                value[key] = default.copy() if isinstance(default, (dict, list)) else default
        elif not isinstance(value[key], types) or isinstance(value[key], bool) and int in types:
            return f"{type_} event: {key!r} is {_kind(value[key])}"
    return _check_parts(type_, value)


def _check_parts(type_: str, value: dict[str, Any]) -> str:
    if type_ == "page":
        if not all(isinstance(line, str) for line in value["lines"]):
            return "page event: a line that is not a string"
        for k, link in value["links"].items():
            if not _LINK_ID.fullmatch(k) or _record_problem(link, _LINK):
                return f"page event: bad link {_short(repr(k))}"
        if not all(isinstance(n, str) for n in value["notes"]):
            return "page event: a note that is not a string"
    elif type_ == "answer":
        for c in value["citations"]:
            if problem := _record_problem(c, _CITATION):
                return f"answer event: a citation {problem}"
        for q in value["quotes"]:
            if problem := _record_problem(q, _QUOTE):
                return f"answer event: a quote {problem}"
    return ""


def _record_problem(value: Any, schema: Mapping[str, _Types]) -> str:
    if not isinstance(value, dict):
        return f"is {_kind(value)}"
    for key, types in schema.items():
        if key not in value:
            return f"without {key!r}"
        if not isinstance(value[key], types) or isinstance(value[key], bool) and int in types:
            return f"with {key!r} as {_kind(value[key])}"
    for key in ("line_start", "line_end"):
        if key in value and (not isinstance(value[key], int) or isinstance(value[key], bool)):
            return f"with {key!r} as {_kind(value[key])}"
    return ""


def _kind(value: Any) -> str:
    """The JSON kind of ``value``, with its article: "an object", "a string"."""
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

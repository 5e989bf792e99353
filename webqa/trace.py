"""Traces: one JSONL file per run, one event per line, flushed as written (DESIGN §5).

Events: ``run`` (format, question, config, versions), ``page`` (a snapshot of each page the
first time it is shown, enough to replay offline), ``step``, ``answer``, and ``end`` (always
written, also when the run fails or is interrupted). A killed run keeps every finished step.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

from .errors import ConfigError
from .paths import user_dir

__all__ = ["FORMAT", "TraceWriter", "read_trace", "default_trace_path", "user_dir"]

FORMAT = "webqa-trace/1"


def default_trace_path(run_id: str) -> Path:
    """Where a run's trace goes when no path is given: ``<user dir>/traces/<date>-<id>.jsonl``."""
    return user_dir() / "traces" / f"{time.strftime('%Y%m%d-%H%M%S')}-{run_id[:8]}.jsonl"


class TraceWriter:
    """Appends events to a JSONL file; every event carries ``type``, ``t`` and ``run``."""

    def __init__(self, path: str | Path | None = None, *, run_id: str | None = None) -> None:
        self.run_id = run_id or uuid.uuid4().hex
        self.path = Path(path) if path else default_trace_path(self.run_id)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the trace to {self.path}: {exc}") from exc
        self._start = time.monotonic()
        self.closed = False

    def write(self, type_: str, **fields: Any) -> None:
        """Write one event and flush it to the file."""
        event = {"type": type_, "t": round(time.monotonic() - self._start, 4), "run": self.run_id}
        event.update(fields)
        self._file.write(json.dumps(event, ensure_ascii=False, default=_jsonable) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self.closed:
            self._file.close()
            self.closed = True


def _jsonable(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """All events of a trace; a torn last line (a killed writer) is skipped."""
    return list(iter_trace(path))


def iter_trace(path: str | Path) -> Iterator[dict[str, Any]]:
    """Iterate over a trace's events."""
    try:
        handle = Path(path).open(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read trace {path}: {exc}") from exc
    with handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # only the last line can be torn; the events before it stand
            if number == 1 and event.get("format") != FORMAT:
                raise ConfigError(f"{path} is not a webqa trace (format {event.get('format')!r})")
            yield event

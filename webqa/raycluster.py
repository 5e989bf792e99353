"""Questions as Ray tasks: ``webqa eval ... --ray [ADDRESS]``.

The driver (the machine running ``webqa eval``) starts one worker actor per CPU of the cluster
(at most one per question in flight); each actor opens its own
:class:`~webqa.session.Session` from the evaluation's options, once, and answers several
questions at a time in threads, as a local run does. A question's trace is written on the
worker and sent back with its answer; the driver writes both under its ``--out``, so the
folder, the resume and the results are those of a local run.

The corpus must be readable at the same path on every worker (a shared file system, or the
same files copied to each machine); an LLM endpoint must be reachable from every worker.

A worker that dies mid-question (the process killed, the machine lost) is restarted, and the
question is run once more; a second failure records it failed (status ``error``).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from .batch import Item, _safe
from .errors import ConfigError, WebQAError
from .records import Answer, Citation, Usage

__all__ = ["run_on_ray", "connect", "check_address"]

log = logging.getLogger("webqa.ray")

#: seconds to wait for a cluster address to accept a connection
CONNECT_TIMEOUT = 5.0


def check_address(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`ConfigError` unless ``host:port`` (or ``ray://host:port``) accepts a TCP
    connection within ``timeout`` seconds; Ray itself would wait much longer."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(
            f"--ray {address}: give the cluster's HOST:PORT (the head's GCS "
            "port, 6379 by default, or ray://HOST:10001 for Ray Client)"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ConfigError(
            f"the Ray cluster at {address} does not answer ({exc}); start one "
            "with `ray start --head` or check the address"
        ) from exc


def connect(address: str) -> bool:
    """Connect to the Ray cluster at ``address`` (``"local"``: start a Ray instance on this
    machine with its CPUs; ``"auto"``: the one ``ray start`` left running). Returns whether
    this call started the connection (and so should shut it down)."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--ray needs Ray: pip install 'webqa[ray]'") from exc
    if ray.is_initialized():
        return False
    if address not in ("local", "auto"):
        check_address(address)
    try:
        if address == "local":
            ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        raise ConfigError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc
    return True


class Worker:
    """A Ray actor body: one Session, opened on first use, answering questions in threads.

    ``open_session(**options)`` opens it (default :class:`~webqa.session.Session`).
    """

    def __init__(
        self, options: dict[str, Any], open_session: Callable[..., Any] | None = None
    ) -> None:
        self.options = options
        self.open_session = open_session
        self.session: Any = None
        # The actor runs several asks at once: without the lock each of the first ones would
        # open (and leak) a session of its own, a corpus and a client apiece.
        self._lock = threading.Lock()

    def _session(self) -> Any:
        with self._lock:
            if self.session is None:
                if self.open_session is None:
                    from .session import Session

                    self.open_session = Session
                self.session = self.open_session(**self.options)
            return self.session

    def ask(self, question: str) -> dict[str, Any]:
        """Answer ``question``; return the answer as a dict and the trace's bytes."""
        with tempfile.TemporaryDirectory(prefix="webqa-ray-") as tmp:
            path = Path(tmp) / "trace.jsonl"
            try:
                answer = self._session().ask(question, trace=path)
            except WebQAError as exc:
                answer = Answer(question, "", [], "error", Usage(), error=str(exc))
            data = path.read_bytes() if path.exists() else b""
        return {"answer": answer.to_dict(), "trace": data}

    def close(self) -> None:
        """Close the session (its corpus and client), if one was opened."""
        with self._lock:
            if self.session is not None:
                self.session.close()
                self.session = None


def _answer(data: dict[str, Any]) -> Answer:
    names = {f.name for f in fields(Answer)}
    values = {k: v for k, v in data.items() if k in names}
    values["citations"] = [Citation(**c) for c in values.get("citations", [])]
    values["usage"] = Usage(**values.get("usage", {}))
    return Answer(**values)


def run_on_ray(
    items: list[Item],
    traces: Path,
    on_answer: Callable[[int, Item, Answer], None],
    *,
    address: str,
    concurrency: int,
    options: dict[str, Any],
) -> None:
    """Answer ``items`` on the Ray cluster at ``address``, ``concurrency`` at a time; write
    each trace to ``traces/<id>.jsonl`` and hand each answer to ``on_answer`` as it comes."""
    started = connect(address)
    import ray as ray_module
    from ray.exceptions import RayError

    ray: Any = ray_module  # Ray's overloads do not type a class made remote at run time

    try:
        # A corpus path must mean the same file on every worker; the driver's notice callback
        # cannot travel (it prints to this terminal).
        options = {k: v for k, v in options.items() if k != "notice"}
        if options.get("corpus") is not None:
            options["corpus"] = str(Path(options["corpus"]).expanduser().resolve())
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        actors = max(1, min(concurrency, cpus, len(items)))
        per_actor = math.ceil(concurrency / actors)
        # Ray's own task retries would also spend the retry of every question merely queued on
        # a dying actor; the driver hands out only as many questions as an actor runs at once,
        # and retries a question itself.
        remote = ray.remote(
            num_cpus=1, max_restarts=-1, max_task_retries=0, max_concurrency=per_actor
        )(Worker)
        pool = [remote.remote(options) for _ in range(actors)]
        free = [slot for _ in range(per_actor) for slot in range(actors)]
        waiting = list(range(len(items)))[::-1]
        tries = [0] * len(items)
        pending: dict[Any, tuple[int, int]] = {}  # ref -> (item index, actor)
        while waiting or pending:
            while waiting and free:
                index, slot = waiting.pop(), free.pop()
                tries[index] += 1
                pending[pool[slot].ask.remote(items[index].question)] = (index, slot)
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                index, slot = pending.pop(ref)
                free.append(slot)
                item = items[index]
                try:
                    result = ray.get(ref)
                except RayError as exc:
                    if tries[index] < 2:
                        log.warning(
                            "webqa: question %r: the Ray worker failed (%s); trying once more",
                            item.id,
                            _first_line(exc),
                        )
                        waiting.append(index)
                        continue
                    log.warning("webqa: question %r failed on Ray: %s", item.id, exc)
                    answer = Answer(
                        item.question,
                        "",
                        [],
                        "error",
                        Usage(),
                        error=f"the Ray worker failed twice: {_first_line(exc)}",
                    )
                else:
                    answer = _answer(result["answer"])
                    path = traces / f"{_safe(item.id)}.jsonl"
                    if result["trace"]:
                        path.write_bytes(result["trace"])
                        answer.trace_path = str(path)
                on_answer(index, item, answer)
        try:
            ray.get([actor.close.remote() for actor in pool], timeout=30)
        except (RayError, TimeoutError) as exc:  # the answers are in; a close that fails is not
            log.warning("webqa: closing the Ray workers' sessions failed: %s", _first_line(exc))
        for actor in pool:
            ray.kill(actor)
    finally:
        if started:
            ray.shutdown()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

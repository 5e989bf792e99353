"""``webqa mcp``: the browser as a Model Context Protocol server (the official ``mcp`` SDK).

Tools: ``search``, ``click``, ``open``, ``find``, ``quote``, ``scroll``, ``back`` drive one
browser per browsing session; ``cited_answer`` lists the quotes kept so far with their URLs and
verbatim text; ``ask`` answers a whole question with the configured policy. Everything comes
from one :class:`webqa.session.Session` (the corpus or the live web, with the live web's guard,
block list and size and time caps unchanged), and each browsing session is a
:class:`webqa.agent.Run` driven step by step, so it writes a trace like any run (its ``end``
event when the session ends) and the trace replays.

Which browsing session a call belongs to: the ``session`` argument when given (results over
HTTP name it); else the connection's own session (``Mcp-Session-Id`` on a stateful HTTP
connection); else, on stdio, the one session of the process (one client per process); else a
new session, whose id the result names. Sessions end when their connection closes, after
``idle_timeout`` seconds without a call, or when the server stops.

A command that cannot apply (a link id that does not exist, a quote not on the page, a blocked
address) is an MCP tool error carrying webqa's message; the session and the server go on.
"""

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from . import __version__, prompts
from .agent import Run
from .answer import citations_for
from .browser import Outcome
from .commands import Command
from .errors import ActionError, ConfigError, WebQAError
from .policies import Reply
from .records import Answer
from .session import Session
from .toolspec import describe, param_description, parse_tool_call
from .trace import TraceWriter, default_trace_path, new_run_id

__all__ = [
    "BrowsingSession",
    "SessionStore",
    "build_server",
    "serve_stdio",
    "serve_http",
    "MCP_QUESTION",
    "BROWSING_TOOLS",
]

log = logging.getLogger("webqa.mcp")

#: The question a browsing session's trace records: the client's question is not sent.
MCP_QUESTION = "(an MCP browsing session)"

#: The browser tools the server offers, named as in the tools protocol.
BROWSING_TOOLS = ("search", "click", "open", "find", "quote", "scroll", "back")

#: The key of the one session a stdio server holds.
_STDIO = "stdio"


def _words() -> dict[str, Any]:
    return prompts.table("mcp.toml")


def _message(key: str, **fields: Any) -> str:
    return prompts.message_of("mcp.toml", key, section="messages", **fields)


def _param(tool: str, name: str) -> str:
    """A parameter's description: ``tools.toml`` for the browser's tools, else ``mcp.toml``."""
    return param_description(tool, name) or str(
        _words().get(tool, {}).get("params", {}).get(name, "")
    )


class BrowsingSession:
    """One MCP client's browser: a :class:`~webqa.agent.Run` of the session's agent, stepped
    one tool call at a time (calls of one session are serialised), with its own trace."""

    def __init__(
        self, session: Session, key: str, *, trace_dir: Path | None = None, max_actions: int = 1000
    ) -> None:
        self.key, self.max_actions = key, max_actions
        run_id = new_run_id()
        path = (trace_dir / default_trace_path(run_id).name) if trace_dir else None
        self.run = Run(session.agent, MCP_QUESTION, TraceWriter(path, run_id=run_id), None)
        self.run.begin()
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self.closed = False
        self._closing = False

    @property
    def trace_path(self) -> str:
        """Where this session's trace is written."""
        assert self.run.trace is not None
        return str(self.run.trace.path)

    def execute(self, command: Command) -> Outcome:
        """Carry out ``command`` as the next step of the run; the step is traced either way."""
        with self.lock:
            try:
                if self.closed:
                    raise ActionError(_message("session_closed"))
                if self.run.usage.actions >= self.max_actions:
                    self._closing = True  # its trace ends now; the next call starts afresh
                    raise ActionError(_message("action_limit", limit=self.max_actions))
                self.last_used = time.monotonic()
                obs = self.run.observe()
                return self.run.step(Reply(str(command)), obs.text, command=command)
            finally:
                self.last_used = time.monotonic()
                if self._closing:
                    self._end()

    def result(self, outcome: Outcome, named: bool) -> str:
        """What a tool call returns: what the command did, then the screen now shown."""
        browser = self.run.browser
        view = browser.view
        fields: dict[str, Any] = {
            "summary": outcome.summary(),
            "title": "",
            "url": "",
            "quotes": len(browser.quotes),
            "session": self.key if named else "",
        }
        if view is not None:
            top, lines = browser.window()
            page = view.page
            fields.update(
                title=page.title + (f" ({page.domain})" if page.domain else ""),
                url=page.url,
                first_line=top,
                last_line=top + max(len(lines) - 1, 0),
                total_lines=len(page.lines),
                notes=page.notes,
                text="\n".join(lines),
            )
        return prompts.render("mcp_result.j2", **fields).strip()

    def quotes(self) -> list[dict[str, Any]]:
        """The quotes kept so far, numbered from 1, with URL, title and verbatim text."""
        with self.lock:
            return [
                {
                    "n": i,
                    "title": q.title,
                    "url": q.url,
                    "text": q.text,
                    "lines": [q.line_start, q.line_end],
                }
                for i, q in enumerate(self.run.browser.quotes, 1)
            ]

    def close(self) -> None:
        """End the run and close its trace now, or after the call in flight (idempotent)."""
        self._closing = True
        if self.lock.acquire(blocking=False):
            try:
                self._end()
            finally:
                self.lock.release()

    def _end(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.run.outcomes and self.run.outcomes[-1].kind != "end":
                # The session's end is the run's End: Answer, so the trace replays like a run.
                end = Command("end", "answer")
                self.run.step(Reply(str(end)), self.run.observe().text, command=end)
        except WebQAError as exc:
            log.warning("webqa: the last step of MCP session %s failed: %s", self.key, exc)
        quotes = self.run.browser.quotes
        answer = Answer(
            MCP_QUESTION,
            "",
            citations_for(quotes, set()),
            "answered" if quotes else "no_quotes",
            self.run.usage,
        )
        try:
            self.run.end(answer, mcp={"session": self.key})
        except WebQAError as exc:  # a trace that cannot be finished must not stop the server
            log.warning("webqa: ending the trace of MCP session %s failed: %s", self.key, exc)


class SessionStore:
    """The browsing sessions of one server: created on first use, found by key, ended when
    idle too long or when the server stops. Thread-safe."""

    def __init__(
        self,
        session: Session,
        *,
        trace_dir: Path | None = None,
        max_actions: int = 1000,
        idle_timeout: float = 1800.0,
        max_sessions: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session, self.trace_dir = session, trace_dir
        self.max_actions, self.idle_timeout, self.max_sessions = (
            max_actions,
            idle_timeout,
            max_sessions,
        )
        self._clock = clock
        self._sessions: dict[str, BrowsingSession] = {}
        self._lock = threading.Lock()

    def get(self, key: str | None, *, create: bool = True) -> BrowsingSession:
        """The session ``key`` (a new one with a fresh id when ``key`` is None)."""
        self.sweep()
        with self._lock:
            found = self._sessions.get(key) if key is not None else None
            if found is not None and not found.closed:
                return found
            if found is not None:  # ended at its action limit: the same key starts afresh
                del self._sessions[found.key]
                create = True
            if not create:
                raise ActionError(
                    _message("no_session", session=key, minutes=round(self.idle_timeout / 60))
                )
            if len(self._sessions) >= self.max_sessions:
                raise ActionError(_message("too_many_sessions", count=len(self._sessions)))
            made = BrowsingSession(
                self.session,
                key or new_run_id()[:12],
                trace_dir=self.trace_dir,
                max_actions=self.max_actions,
            )
            self._sessions[made.key] = made
            log.info("webqa: MCP session %s started (trace %s)", made.key, made.trace_path)
            return made

    def end(self, key: str) -> None:
        """End session ``key`` if it is open."""
        with self._lock:
            found = self._sessions.pop(key, None)
        if found is not None:
            found.close()
            log.info("webqa: MCP session %s ended", key)

    def sweep(self) -> None:
        """End the sessions that have had no call for ``idle_timeout`` seconds."""
        now = self._clock()
        with self._lock:
            idle = [
                k
                for k, s in self._sessions.items()
                if now - s.last_used > self.idle_timeout and not s.lock.locked()
            ]
        for key in idle:
            self.end(key)

    def close(self) -> None:
        """End every session (the server is stopping)."""
        with self._lock:
            keys = list(self._sessions)
        for key in keys:
            self.end(key)

    def __len__(self) -> int:
        return len(self._sessions)


def _connection_id(ctx: Context) -> str | None:
    """The stateful HTTP connection's session id (``Mcp-Session-Id``), if the call has one."""
    headers = ctx.headers
    if not headers:
        return None
    value = headers.get("mcp-session-id")
    return f"http-{value[:64]}" if value else None


def build_server(
    session: Session,
    *,
    single: bool,
    trace_dir: Path | None = None,
    max_actions: int = 1000,
    idle_timeout: float = 1800.0,
    max_sessions: int = 100,
) -> tuple[MCPServer, SessionStore]:
    """The MCP server over ``session`` and its session store.

    ``single``: one client per process (stdio), so calls without a ``session`` argument share
    one browsing session; otherwise each connection, or each call without one, gets its own.
    """
    store = SessionStore(
        session,
        trace_dir=trace_dir,
        max_actions=max_actions,
        idle_timeout=idle_timeout,
        max_sessions=max_sessions,
    )
    server: MCPServer = MCPServer(
        "webqa",
        instructions=prompts.load("mcp_instructions.md"),
        version=__version__,
        log_level="WARNING",
    )
    watched: set[str] = set()

    def browse(ctx: Context, given: str | None, tool: str, args: dict[str, Any]) -> str:
        try:
            command = parse_tool_call(tool, args)
            key = given or _connection_id(ctx) or (_STDIO if single else None)
            browsing = store.get(key, create=given is None)
            if key and key.startswith("http-") and key not in watched:
                _end_with_connection(ctx, store, key)
                watched.add(key)
            outcome = browsing.execute(command)
        except WebQAError as exc:
            raise ToolError(str(exc)) from exc
        if not outcome.ok:
            raise ToolError(outcome.error or "the action failed")
        return browsing.result(outcome, named=not single)

    SessionArg = Annotated[str | None, Field(description=str(_words()["session"]["description"]))]

    def search(
        query: Annotated[str, Field(description=_param("search", "query"))],
        ctx: Context,
        session: SessionArg = None,
    ) -> str:
        return browse(ctx, session, "search", {"query": query})

    def click(
        link: Annotated[int, Field(description=_param("click", "link"))],
        ctx: Context,
        session: SessionArg = None,
    ) -> str:
        return browse(ctx, session, "click", {"link": link})

    def open(
        url: Annotated[str, Field(description=_param("open", "url"))],
        ctx: Context,
        session: SessionArg = None,
    ) -> str:
        return browse(ctx, session, "open", {"url": url})

    def find(
        text: Annotated[str, Field(description=_param("find", "text"))],
        ctx: Context,
        session: SessionArg = None,
    ) -> str:
        return browse(ctx, session, "find", {"text": text})

    def quote(
        text: Annotated[str, Field(description=_param("quote", "text"))],
        ctx: Context,
        session: SessionArg = None,
    ) -> str:
        return browse(ctx, session, "quote", {"text": text})

    def scroll(
        direction: Annotated[
            Literal["down", "up"], Field(description=_param("scroll", "direction"))
        ],
        ctx: Context,
        screens: Annotated[int, Field(description=_param("scroll", "screens"))] = 1,
        session: SessionArg = None,
    ) -> str:
        return browse(ctx, session, "scroll", {"direction": direction, "screens": screens})

    def back(ctx: Context, session: SessionArg = None) -> str:
        return browse(ctx, session, "back", {})

    def cited_answer(ctx: Context, session: SessionArg = None) -> str:
        key = session or _connection_id(ctx) or (_STDIO if single else None)
        if key is None:
            raise ToolError(_message("no_quotes"))
        try:
            quotes = store.get(key, create=session is None).quotes()
        except WebQAError as exc:
            raise ToolError(str(exc)) from exc
        if not quotes:
            raise ToolError(_message("no_quotes"))
        return json.dumps({"quotes": quotes}, ensure_ascii=False, indent=1)

    def ask(question: Annotated[str, Field(description=_param("ask", "question"))]) -> str:
        try:
            answer = session_ask(question)
        except WebQAError as exc:
            raise ToolError(str(exc)) from exc
        if answer.status != "answered":
            raise ToolError(
                _message("not_answered", reason=answer.error or answer.refusal or answer.status)
            )
        refs = "\n".join(f"[{c.n}] {c.title} — {c.url}\n    “{c.quote}”" for c in answer.citations)
        return f"{answer.text}\n\nReferences\n{refs}".strip()

    session_ask = session.ask
    for fn in (search, click, open, find, quote, scroll, back):
        server.add_tool(fn, name=fn.__name__, description=describe(fn.__name__))
    server.add_tool(
        cited_answer, name="cited_answer", description=str(_words()["cited_answer"]["description"])
    )
    server.add_tool(ask, name="ask", description=str(_words()["ask"]["description"]))
    return server, store


def _end_with_connection(ctx: Context, store: SessionStore, key: str) -> None:
    """End the browsing session when its stateful HTTP connection closes (client DELETE,
    the transport's idle timeout). The SDK keeps the connection on the request's session only;
    without it, the store's idle timeout still ends the session."""
    connection = getattr(ctx.session, "_connection", None)
    stack = getattr(connection, "exit_stack", None)
    if stack is not None and getattr(connection, "session_id", None):
        stack.callback(store.end, key)


def serve_stdio(server: MCPServer, store: SessionStore) -> None:
    """Serve over stdin/stdout until the client closes stdin; then end every session."""
    try:
        anyio.run(server.run_stdio_async)
    finally:
        store.close()


def serve_http(
    server: MCPServer,
    store: SessionStore,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[str], None] | None = None,
    idle_timeout: float = 1800.0,
) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted; ``on_ready`` gets
    the URL once the socket is bound (``port`` 0 picks a free port)."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from exc
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    app = server.streamable_http_app(host=host, session_idle_timeout=idle_timeout)
    # A stop (Ctrl-C, SIGTERM) waits this long for calls in flight, then ends the sessions.
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    web = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(f"http://{shown}:{bound}/mcp")
    try:
        web.run(sockets=[sock])
    finally:
        sock.close()
        store.close()

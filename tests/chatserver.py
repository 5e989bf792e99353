"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests and benchmarks.

It speaks enough of the protocol for the real ``openai`` client: ``POST /v1/chat/completions``
and ``GET /v1/models``. Replies come from a script, one step per completion request:

- ``"text"``                       reply with that content
- ``None``                         reply with ``content: null``
- ``callable(request_json)``       called with the request body; returns any other step
- ``("status", 429, {"Retry-After": "1"})``   answer that status (headers optional), OpenAI's
  error body; a fourth element replaces the error message
- ``("hang", seconds[, step])``    wait, then answer ``step`` (default ""); a client with a
  shorter timeout has gone by then. Closing the server ends the wait
- ``("reset",)``                   close the connection without answering
- ``("raw", obj)``                 send ``obj`` as the JSON body, status 200 (malformed replies)

When the script runs out, ``default`` answers (a step or a callable policy, so that many
concurrent runs can be served as a function of their messages); without one the server answers
HTTP 400 "script exhausted", which the client does not retry. ``delay`` seconds are spent on every
completion (outside the lock, so concurrent calls overlap). Usage is deterministic:
:func:`count_tokens` of the prompt contents and of the reply.

    with ChatServer(["Search cats", "End: Answer"]) as server:
        client = ChatClient("test-model", base_url=server.url)
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

__all__ = ["ChatServer", "count_tokens", "prompt_text"]


def count_tokens(text: str) -> int:
    """The server's token count: one per four characters, rounded down."""
    return len(text) // 4


def prompt_text(request: dict[str, Any]) -> str:
    """The concatenated message contents of a chat request (what prompt tokens count)."""
    parts = []
    for m in request.get("messages", []):
        c = m.get("content")
        if isinstance(c, list):  # content parts: [{"type": "text", "text": ...}]
            c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
        parts.append(c or "")
    return "".join(parts)


class ChatServer:
    """A loopback chat-completions server answering from a script; use as a context manager.

    ``requests`` holds every completion request body received, ``headers`` their headers
    (lower-cased names), in arrival order. Thread-safe.
    """

    def __init__(
        self,
        script: Iterable[Any] = (),
        *,
        default: Any = ...,
        delay: float = 0.0,
        models: list[str] | None = None,
        usage: bool = True,
        finish_reason: str = "stop",
    ) -> None:
        self.script = list(script)
        self.default = default
        self.delay = delay
        self.models = ["test-model"] if models is None else models
        self.usage = usage
        self.finish_reason = finish_reason
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._address: tuple[str, int] | None = None  # kept after close, for messages

    @property
    def url(self) -> str:
        """The base URL to give the client, ending in ``/v1``."""
        assert self._address is not None, "server not started"
        return f"http://{self._address[0]}:{self._address[1]}/v1"

    def start(self) -> ChatServer:
        """Bind to a free port on 127.0.0.1 and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"chat": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._address = self._httpd.server_address[:2]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; ends any hanging step at once."""
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_step(self, request: dict[str, Any], headers: dict[str, str]) -> Any:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
            if self.script:
                return self.script.pop(0)
        if self.default is ...:
            return ("status", 400, {}, "chatserver: script exhausted")
        return self.default

    def _completion(self, request: dict[str, Any], content: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", ""),
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": self.finish_reason,
                "logprobs": None,
            }],
        }
        if self.usage:
            p, c = count_tokens(prompt_text(request)), count_tokens(content or "")
            body["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is expected here, not a failure


class _Handler(BaseHTTPRequestHandler):
    chat: ChatServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK
    # adds ~40 ms to every reply, which real servers do not.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "chatserver"}
                    for m in self.chat.models]
            self._send(200, {"object": "list", "data": data})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        request = json.loads(raw or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        step = self.chat._next_step(request, headers)
        if self.chat.delay:
            time.sleep(self.chat.delay)
        self._answer(request, step)

    def _answer(self, request: dict[str, Any], step: Any) -> None:
        while callable(step):
            step = step(request)
        if step is None or isinstance(step, str):
            self._send(200, self.chat._completion(request, step))
            return
        kind = step[0]
        if kind == "status":
            status, headers = step[1], (step[2] if len(step) > 2 else {})
            message = step[3] if len(step) > 3 else f"chatserver: scripted HTTP {status}"
            self._send(status, {"error": {"message": message, "type": "scripted", "code": status}}, headers)
        elif kind == "hang":
            if self.chat._closing.wait(step[1]):
                self.close_connection = True
                return
            self._answer(request, step[2] if len(step) > 2 else "")
        elif kind == "reset":
            self.close_connection = True  # no bytes at all: the client sees a dropped connection
        elif kind == "raw":
            self._send(200, step[1])
        else:
            raise ValueError(f"chatserver: unknown step {step!r}")

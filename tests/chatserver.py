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
- ``("drip", interval[, text])``   send the headers, then a completion of ``text`` one byte
  every ``interval`` seconds: each read is quick, the whole reply is not
- ``("reset",)``                   close the connection without answering
- ``("raw", obj)``                 send ``obj`` as the JSON body, status 200 (malformed replies)
- ``("body", data[, status[, headers]])``  send ``data`` (bytes or str) as the body, verbatim:
  truncated JSON, a lone ``\\ud800`` escape, an HTML page (give a Content-Type header)
- ``("tool_calls", calls[, content])``  a reply calling tools (``finish_reason`` "tool_calls").
  Each call is ``(name, arguments_text)`` (ids ``call_0``, ``call_1``, ...) or a dict sent as
  is; ``calls`` that is not a list is sent as is too (malformed replies)

When the script runs out, ``default`` answers (a step or a callable policy, so that many
concurrent runs can be served as a function of their messages); without one the server answers
HTTP 400 "script exhausted", which the client does not retry. Every completion is answered ``delay``
seconds after its request arrived (the server's own work included; outside the lock, so
concurrent calls overlap). Usage is deterministic:
:func:`count_tokens` of the prompt contents and of the reply.

    with ChatServer(["Search cats", "End: Answer"]) as server:
        client = ChatClient("test-model", base_url=server.url)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
    (lower-cased names), in arrival order. Thread-safe. ``models`` are the ids ``/v1/models``
    lists, unless ``models_step`` (a ``"status"``, ``"raw"``, ``"body"``, ``"hang"`` or
    ``"drip"`` step) answers it instead.
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
        models_step: Any = None,
    ) -> None:
        self.script = list(script)
        self.default = default
        self.delay = delay
        self.models = ["test-model"] if models is None else models
        self.usage = usage
        self.finish_reason = finish_reason
        self.models_step = models_step
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

    def _completion(
        self, request: dict[str, Any], content: str | None, tool_calls: Any = None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        finish_reason = self.finish_reason
        if tool_calls is not None:
            message["tool_calls"] = tool_calls
            finish_reason = "tool_calls"
        body: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
        }
        if self.usage:
            replied = (content or "") + "".join(
                str(call.get("function", {}).get("arguments", ""))
                for call in (tool_calls if isinstance(tool_calls, list) else [])
                if isinstance(call, dict) and isinstance(call.get("function"), dict)
            )
            p, c = count_tokens(prompt_text(request)), count_tokens(replied)
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
        self._send_bytes(status, json.dumps(body).encode(), headers)

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        self.send_response(status)
        if not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models" and self.chat.models_step is not None:
            self._answer({}, self.chat.models_step)
        elif self.path.rstrip("/") == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "chatserver"}
                for m in self.chat.models
            ]
            self._send(200, {"object": "list", "data": data})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        request = json.loads(raw or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        step = self.chat._next_step(request, headers)
        while callable(step):  # worked out within the delay, as a model server's own work is
            step = step(request)
        if self.chat.delay:
            # The reply is due `delay` after the request arrived: the server's own parsing
            # and scripting (serialised on its interpreter lock when many calls arrive at
            # once) is part of the delay, not added to it.
            time.sleep(max(self.chat.delay - (time.monotonic() - arrived), 0.0))
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
            self._send(
                status, {"error": {"message": message, "type": "scripted", "code": status}}, headers
            )
        elif kind == "hang":
            if self.chat._closing.wait(step[1]):
                self.close_connection = True
                return
            self._answer(request, step[2] if len(step) > 2 else "")
        elif kind == "drip":
            reply = step[2] if len(step) > 2 else "x" * 200
            if self.command == "GET":  # models_step: a model list
                body: Any = {"object": "list", "data": [{"id": reply, "object": "model"}]}
            else:
                body = self.chat._completion(request, reply)
            data = json.dumps(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            for byte in data.encode():
                if self.chat._closing.wait(step[1]):
                    break
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client has gone
                    break
            self.close_connection = True
        elif kind == "reset":
            self.close_connection = True  # no bytes at all: the client sees a dropped connection
        elif kind == "raw":
            self._send(200, step[1])
        elif kind == "body":
            data = step[1].encode() if isinstance(step[1], str) else step[1]
            status = step[2] if len(step) > 2 else 200
            self._send_bytes(status, data, step[3] if len(step) > 3 else None)
        elif kind == "tool_calls":
            calls = step[1]
            if isinstance(calls, list):
                calls = [
                    {
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {"name": c[0], "arguments": c[1]},
                    }
                    if isinstance(c, tuple)
                    else c
                    for i, c in enumerate(calls)
                ]
            content = step[2] if len(step) > 2 else None
            self._send(200, self.chat._completion(request, content, calls))
        else:
            raise ValueError(f"chatserver: unknown step {step!r}")

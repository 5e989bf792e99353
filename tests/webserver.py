"""Loopback HTTP servers for tests: real sockets on 127.0.0.1, routes as small functions.

A route takes the request handler and writes the whole answer; the helpers below build the
usual ones (a page, a redirect, a status, a huge body, a gzip bomb, a slow drip, a hang, a
reset). ``Site.hits`` counts requests per path, ``Site.requests`` keeps their headers.
"""

from __future__ import annotations

import collections
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore

Route = Callable[[BaseHTTPRequestHandler], None]

__all__ = [
    "Site",
    "serve",
    "send",
    "page",
    "redirect",
    "status",
    "big_body",
    "bomb",
    "slow_drip",
    "hang",
    "reset",
    "sequence",
    "make_pdf",
    "ToSite",
    "fake_resolver",
    "PUBLIC_IP",
]

#: A public address used as a stand-in; nothing ever connects to it (see :class:`ToSite`).
PUBLIC_IP = "93.184.215.14"


class Site:
    """A running loopback server; ``url(path)`` gives an absolute URL on it."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.hits: collections.Counter[str] = collections.Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?")[0]
                site.hits[path] = site.hits[path] + 1
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = site.routes.get(path) or status(404)
                try:
                    route(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client stopped reading: expected

            def log_message(self, *args: object) -> None:
                pass

            def server_stop(self, wait: float = 0) -> bool:
                """Whether the site is stopping (waiting up to ``wait`` seconds for it)."""
                return site.stop.wait(wait) if wait else site.stop.is_set()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # clients hang up on purpose in these tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        # A short poll interval makes shutdown, and so each test, quick.
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def url(self, path: str = "/") -> str:
        """``http://127.0.0.1:<port><path>``."""
        return self.base + path

    def start(self) -> Site:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Release hanging handlers and stop the server."""
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[Site]:
    """Serve ``routes`` on 127.0.0.1 for the duration of the ``with`` block."""
    site = Site(routes).start()
    try:
        yield site
    finally:
        site.close()


def send(
    h: BaseHTTPRequestHandler,
    code: int = 200,
    body: bytes = b"",
    content_type: str | None = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    """Write a complete response."""
    h.send_response(code)
    if content_type:
        h.send_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def page(
    body: str | bytes,
    content_type: str | None = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> Route:
    """A route answering 200 with ``body``."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return lambda h: send(h, 200, data, content_type, headers)


def redirect(location: str, code: int = 302) -> Route:
    """A route answering a redirect to ``location``."""
    return lambda h: send(h, code, b"", None, {"Location": location})


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"error") -> Route:
    """A route answering ``code``."""
    return lambda h: send(h, code, body, "text/plain", headers)


def sequence(*routes: Route) -> Route:
    """A route that answers with the next route on each request (the last one repeats)."""
    queue = list(routes)

    def route(h: BaseHTTPRequestHandler) -> None:
        (queue.pop(0) if len(queue) > 1 else queue[0])(h)

    return route


def big_body(size: int, content_type: str = "text/html; charset=utf-8") -> Route:
    """A route streaming ``size`` bytes of text with a correct Content-Length."""
    block = b"<p>" + b"lorem ipsum " * 5455 + b"</p>\n"  # ~64 KB

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(size))
        h.end_headers()
        left = size
        while left > 0 and not h.server_stop():
            chunk = block[: min(left, len(block))]
            h.wfile.write(chunk)
            left -= len(chunk)

    return route


_BOMBS: dict[tuple[str, int], bytes] = {}


def bomb(encoding: str, decoded_size: int) -> bytes:
    """``decoded_size`` bytes of "a" compressed with ``encoding`` (gzip, deflate or br), cached."""
    key = (encoding, decoded_size)
    if key not in _BOMBS:
        step = 1 << 20
        full = b"a" * step
        chunks = (
            full if decoded_size - i >= step else full[: decoded_size - i]
            for i in range(0, decoded_size, step)
        )
        if encoding == "br":
            import brotli

            comp = brotli.Compressor(quality=5)
            parts = [comp.process(chunk) for chunk in chunks] + [comp.finish()]
        else:
            comp = zlib.compressobj(
                9, zlib.DEFLATED, zlib.MAX_WBITS | (16 if encoding == "gzip" else 0)
            )
            parts = [comp.compress(chunk) for chunk in chunks] + [comp.flush()]
        _BOMBS[key] = b"".join(parts)
    return _BOMBS[key]


def slow_drip(interval: float, count: int = 100) -> Route:
    """A route that sends ``count`` bytes, one every ``interval`` seconds."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(count))
        h.end_headers()
        for _ in range(count):
            if h.server_stop():
                break
            h.wfile.write(b"a")
            h.wfile.flush()
            time.sleep(interval)

    return route


def hang(h: BaseHTTPRequestHandler) -> None:
    """A route that never answers (until the server stops)."""
    h.server_stop(wait=30)
    h.close_connection = True


def reset(h: BaseHTTPRequestHandler) -> None:
    """A route that resets the connection without answering (TCP RST)."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.close_connection = True


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    info = ""
    if title:
        objects.append(f"<< /Title ({title}) >>".encode("latin-1"))
        info = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\n"
    out += (trailer + f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


class ToSite(httpcore.NetworkBackend):
    """A network where every address leads to one loopback site, as if it were the internet.

    Guarded-mode tests resolve public-looking names to :data:`PUBLIC_IP` and connect through
    this; ``asked`` records the addresses the guard let through.
    """

    def __init__(self, site: Site) -> None:
        self.port = site.port
        self.asked: list[str] = []
        self._real = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        """Record ``host`` and connect to the site instead."""
        self.asked.append(host)
        return self._real.connect_tcp("127.0.0.1", self.port, timeout=timeout)

    def sleep(self, seconds: float) -> None:
        """No waiting in tests."""


def fake_resolver(names: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """A resolver answering from ``names``; unknown names fail like a DNS miss."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise httpcore.ConnectError(f"cannot resolve {host} (test resolver)")
        return names[host]

    return resolve

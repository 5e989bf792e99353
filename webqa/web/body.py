"""Reading a response body with caps on both the bytes received and the bytes decoded.

httpx's own decoders inflate each network chunk in one call, so a 64 KB chunk of a gzip
bomb becomes ~64 MB at once (and a brotli one far more). Here the raw stream is read with
``iter_raw`` and inflated in bounded steps, so memory stays near the cap whatever the ratio.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import brotli
import httpx

from webqa.errors import UnsupportedContent

__all__ = ["Body", "read_capped", "decoder_chain", "raw_chunks"]

#: Largest piece a decoder hands out at once.
_STEP = 64 * 1024


@dataclass(frozen=True)
class Body:
    """What was read: the decoded bytes, and which cap cut them short (if any)."""

    data: bytes
    cut_at: int | None = None  # the cap, in bytes, that stopped the reading


class _Zlib:
    """gzip or deflate, inflated at most ``_STEP`` bytes per call."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._d.decompress(data, _STEP)
            except zlib.error:
                if self._gzip or not self._first:
                    raise
                # "deflate" is sometimes sent raw, without the zlib header (as httpx allows).
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._d.decompress(data, _STEP)
            self._first = False
            data = self._d.unconsumed_tail
            if out:
                yield out
            # A full step may leave output inside zlib even with no input left: ask again.
            if not data and len(out) < _STEP:
                return


class _Brotli:
    """brotli, with the decoder's own output limit (brotli >= 1.2)."""

    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._d.process(data, output_buffer_limit=_STEP)
        except TypeError:  # brotli < 1.2 has no limit; feed small slices to bound each step
            for i in range(0, len(data), 256):
                yield self._d.process(data[i : i + 256])
            return
        yield out
        while not self._d.can_accept_more_data():
            yield self._d.process(b"", output_buffer_limit=_STEP)


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data


def raw_chunks(resp: httpx.Response) -> tuple[Iterable[bytes], str | None]:
    """A response's body as it came over the wire, and the content encoding to undo.

    A response built in memory (``httpx.MockTransport``) is already decoded by httpx."""
    if resp.is_stream_consumed:
        return iter([resp.content]), None
    return resp.iter_raw(), resp.headers.get("content-encoding")


def decoder_chain(content_encoding: str | None) -> Callable[[bytes], Iterable[bytes]]:
    """A function from raw chunks to decoded pieces for a ``Content-Encoding`` header value.

    Raises :class:`UnsupportedContent` for an encoding webqa cannot decode (zstd, compress).
    """
    names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
    stages: list[_Zlib | _Brotli | _Identity] = []
    for name in reversed(names):  # the last encoding applied is the first to undo
        if name in ("gzip", "x-gzip", "deflate"):
            stages.append(_Zlib(name))
        elif name == "br":
            stages.append(_Brotli())
        elif name != "identity":
            raise UnsupportedContent(
                f"the body is encoded with {name!r}, which webqa cannot decode"
            )
    stages = stages or [_Identity()]

    def through(stage: _Zlib | _Brotli | _Identity, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            yield from stage.feed(piece)

    def feed(chunk: bytes) -> Iterator[bytes]:
        pieces: Iterable[bytes] = [chunk]
        for stage in stages:
            pieces = through(stage, pieces)
        return (p for p in pieces if p)

    return feed


def read_capped(
    raw_chunks: Iterable[bytes],
    decode: Callable[[bytes], Iterable[bytes]],
    *,
    max_raw: int,
    max_decoded: int,
    tick: Callable[[], None] = lambda: None,
) -> Body:
    """Read and decode ``raw_chunks`` until the end or a cap; ``tick`` runs between chunks.

    Reading stops as soon as either cap is passed, so neither a huge body nor a bomb is held
    in memory; ``Body.cut_at`` then names the cap. Decoding errors (zlib.error, brotli.error)
    are left to the caller, the one place where foreign errors are wrapped.
    """
    buf = bytearray()
    raw = 0
    for chunk in raw_chunks:
        tick()
        raw += len(chunk)
        if raw > max_raw:
            chunk = chunk[: len(chunk) - (raw - max_raw)]
        for piece in decode(chunk):
            room = max_decoded - len(buf)
            if len(piece) > room:
                buf += piece[:room]
                return Body(bytes(buf), cut_at=max_decoded)
            buf += piece
        if raw > max_raw:
            return Body(bytes(buf), cut_at=max_raw)
    return Body(bytes(buf))

"""Bytes to text, the one way webqa does it (live pages, WARC, ZIM and folder corpora alike).

The rules follow the WHATWG Encoding standard, as browsers do, so a page reads the same
whether it came from the web or from an archive of it:

1. a byte-order mark wins;
2. then the declared charset (the HTTP ``Content-Type`` header);
3. then a ``<meta charset>`` in the first 4 KB (HTML only);
4. then UTF-8, if the bytes are UTF-8 (a body cut at a size cap may end mid-character);
5. then a guess by charset-normalizer; bad bytes become U+FFFD.

Labels map as in WHATWG: ``iso-8859-1``, ``latin1`` and ``ascii`` mean windows-1252 (its
superset; real pages so labelled use its curly quotes), ``gb2312`` means GB18030, and so on.
Guesses and ignored labels are logged on ``webqa.charset`` at DEBUG level.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass

__all__ = ["Decoded", "codec_for", "bom_encoding", "sniff", "decode", "decode_verbose"]

log = logging.getLogger("webqa.charset")

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,500}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: WHATWG labels whose meaning differs from Python's codec of the same name.
_WHATWG = {
    **dict.fromkeys(
        (
            "iso-8859-1",
            "iso8859-1",
            "iso_8859-1",
            "iso-ir-100",
            "latin-1",
            "latin1",
            "l1",
            "cp819",
            "ibm819",
            "csisolatin1",
            "ascii",
            "us-ascii",
            "ansi_x3.4-1968",
            "iso646-us",
            "x-cp1252",
            "windows-1252",
            "cp1252",
        ),
        "cp1252",
    ),
    **dict.fromkeys(
        ("iso-8859-9", "iso8859-9", "iso_8859-9", "latin5", "l5", "windows-1254", "x-cp1254"),
        "cp1254",
    ),
    **dict.fromkeys(("tis-620", "iso-8859-11", "iso8859-11", "windows-874", "dos-874"), "cp874"),
    **dict.fromkeys(
        ("gb2312", "gbk", "x-gbk", "chinese", "csgb2312", "gb_2312-80", "gb18030"), "gb18030"
    ),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "x-x-big5", "csbig5"), "big5hkscs"),
    **dict.fromkeys(
        ("euc-kr", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "korean", "windows-949", "cp949"),
        "cp949",
    ),
    # Without a BOM, "utf-16" means little-endian on the web.
    **dict.fromkeys(("utf-16", "utf-16le", "utf16"), "utf-16-le"),
    **dict.fromkeys(
        ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8", "utf8"), "utf-8"
    ),
}
#: Python codecs that are not web charsets: they fail on any input ("undefined", "idna"),
#: decode to lone surrogates (the escape codecs) or smuggle markup past filters (UTF-7,
#: which WHATWG refuses for that reason). A label naming one is ignored like an unknown one.
_NOT_CHARSETS = frozenset(
    {
        "undefined",
        "idna",
        "punycode",
        "utf-7",
        "unicode-escape",
        "raw-unicode-escape",
        "unicode-internal",
        "mbcs",
        "oem",
    }
)
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Share of U+FFFD in a UTF-8 decoding still read as UTF-8 with a few bad bytes, not guessed.
_FEW_BAD = 200
_GUESS_BYTES = 200_000


@dataclass(frozen=True)
class Decoded:
    """Decoded text, the Python codec used, and what chose it.

    ``source`` is one of "bom", "declared", "meta", "utf-8", "guess" or "fallback".
    """

    text: str
    encoding: str
    source: str


def codec_for(label: str | bytes | None) -> str | None:
    """The Python codec name for a charset label (WHATWG meanings), or None if unknown."""
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if key in _WHATWG:
        return _WHATWG[key]
    try:
        name = codecs.lookup(key).name
    except LookupError:
        return None
    if name in _NOT_CHARSETS or not _is_text_codec(name):
        return None  # "base64", "rot13", "zlib", "utf-7" ... are codecs, not web charsets
    return _WHATWG.get(name, name)


def _is_text_codec(name: str) -> bool:
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return getattr(info, "_is_text_encoding", True)


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``data`` names, or None."""
    return next((enc for bom, enc in _BOMS if data.startswith(bom)), None)


def _bom_length(encoding: str) -> int:
    return next(len(bom) for bom, enc in _BOMS if enc == encoding)


def _meta_label(data: bytes) -> bytes | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1) if match else None


def _is_utf8(data: bytes) -> bool:
    try:
        # Not final: a body cut at a cap may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _guess(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:_GUESS_BYTES]).best()
    except Exception as exc:  # the guesser is best-effort: any failure means "no guess"
        log.debug("charset-normalizer failed (%s: %s)", type(exc).__name__, exc)
        return None
    return codec_for(best.encoding) if best is not None else None


def sniff(
    data: bytes, declared: str | None = None, *, html: bool = True, where: str = ""
) -> tuple[str, str]:
    """``(codec, source)`` for ``data``: the rules of this module without the decoding.

    A label that names no known charset is ignored (and logged), as browsers ignore it.
    ``where`` (a URL or path) only makes the log lines useful.
    """
    suffix = f" ({where})" if where else ""
    if bom := bom_encoding(data):
        return bom, "bom"
    if declared:
        if codec := codec_for(declared):
            return codec, "declared"
        log.debug("ignoring the unknown charset label %r%s", declared, suffix)
    if html and (label := _meta_label(data)):
        if codec := codec_for(label):
            # A page cannot say it is UTF-16 from inside ASCII-compatible bytes (WHATWG).
            return ("utf-8" if codec.startswith("utf-16") else codec), "meta"
        log.debug("ignoring the unknown <meta> charset %r%s", label, suffix)
    if _is_utf8(data):
        return "utf-8", "utf-8"
    bad = data.decode("utf-8", "replace").count("\ufffd")
    if bad <= max(2, len(data) // _FEW_BAD):
        # A few bad bytes in UTF-8 text: keep UTF-8 rather than risk a wrong guess for the whole.
        log.debug("%d bytes are not UTF-8; reading as UTF-8 anyway%s", bad, suffix)
        return "utf-8", "utf-8"
    if guess := _guess(data):
        log.debug("no charset declared and not UTF-8; guessed %s%s", guess, suffix)
        return guess, "guess"
    log.debug("no charset declared, not UTF-8 and no guess; reading as UTF-8%s", suffix)
    return "utf-8", "fallback"


def decode_verbose(
    data: bytes, declared: str | None = None, *, html: bool = True, where: str = ""
) -> Decoded:
    """Decode ``data`` by the rules above, never failing; also says which codec and why.

    The text is always valid Unicode (no lone surrogates), so it can be written anywhere.
    """
    encoding, source = sniff(data, declared, html=html, where=where)
    body = data[_bom_length(encoding) :] if source == "bom" else data
    try:
        text = body.decode(encoding, "replace")
    except (UnicodeError, LookupError) as exc:  # a codec that fails even with "replace"
        log.debug("decoding as %s failed (%s); reading as UTF-8", encoding, exc)
        text, encoding, source = body.decode("utf-8", "replace"), "utf-8", "fallback"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates break every writer downstream (SQLite, traces, JSON).
        text = _SURROGATE.sub("\ufffd", text)
    return Decoded(text, encoding, source)


def decode(data: bytes, declared: str | None = None, *, html: bool = True, where: str = "") -> str:
    """Decode ``data`` to text by the rules above, never failing (bad bytes become U+FFFD)."""
    return decode_verbose(data, declared, html=html, where=where).text

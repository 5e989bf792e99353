"""Builders for small corpora used by the corpus tests: ZIM archives, WARC files, folders.

Everything is written with the libraries' own writers into a temporary directory; nothing
here reads ``shared/`` or the network.
"""

from __future__ import annotations

import io
from pathlib import Path

from libzim.writer import Creator, Hint, Item, StringProvider
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ZIM_NAME = "test_wiki"


def page(title: str, body: str) -> str:
    """A minimal HTML page with a title and a body."""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<link rel='stylesheet' href='-/style.css'></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


#: path -> (title, HTML body). Links are relative to the entry path, as in Kiwix archives.
ARTICLES: dict[str, tuple[str, str]] = {
    "Ray_Charles": (
        "Ray Charles",
        (
            "<p><b>Ray Charles</b> was an American singer and pianist. His live album "
            '<a href="Ray_Charles_in_Person">In Person</a> and '
            '<a href="Ray_Charles_at_Newport">Ray Charles at Newport</a> are well known.</p>'
            "<p>See also <a href=\"What'd_I_Say_(album)\">What'd I Say</a>, "
            '<a href="Genius_%2B_Soul_%3D_Jazz">Genius + Soul = Jazz</a>, '
            '<a href="100%25_Pure">100% Pure</a> and <a href="Hank_Crawford#Career">Hank</a>.'
            '</p><img src="I/photo.png"><p>Ray Charles played chess and the piano.</p>'
        ),
    ),
    "Ray_Charles_in_Person": (
        "Ray Charles in Person",
        (
            '<p><i>In Person</i> is a live album recorded by <a href="Ray_Charles">Ray Charles'
            "</a> on May 28, 1959 on a rainy night in Atlanta, Georgia at Herndon Stadium. "
            "The album was recorded by the concert sponsor, radio station WAOK.</p>"
        ),
    ),
    "Ray_Charles_at_Newport": (
        "Ray Charles at Newport",
        (
            "<p>Ray Charles at Newport is a 1958 live album recorded at the Newport Jazz "
            "Festival. The detailed liner notes on the album were written by Kenneth Lee Karpe."
            "</p>"
        ),
    ),
    "What'd_I_Say_(album)": (
        "What'd I Say (album)",
        (
            "<p>What'd I Say is a 1959 album. The drummer on the first track was Milt Turner, "
            "who graduated from Pearl High School.</p>"
        ),
    ),
    "Genius_+_Soul_=_Jazz": (
        "Genius + Soul = Jazz",
        (
            "<p>Genius + Soul = Jazz is a 1961 album on Impulse! Records. The album was inducted "
            "into the Grammy Hall of Fame in 2011.</p>"
        ),
    ),
    "100%_Pure": ("100% Pure", "<p>An article whose path has a percent sign.</p>"),
    "Hank_Crawford": (
        "Hank Crawford",
        (
            '<p>Hank Crawford was a saxophonist who played with <a href="Ray_Charles">Ray '
            'Charles</a>.</p><h2 id="Career">Career</h2><p>He joined the band in 1958.</p>'
        ),
    ),
    "Atlanta": (
        "Atlanta",
        (
            "<p>Atlanta is the capital of Georgia. The city has a large stadium, several radio "
            "stations and many concert halls; concerts are often recorded there.</p>"
        ),
    ),
    "Chess": (
        "Chess",
        ("<p>Chess is a board game for two players. A grandmaster is a chess champion.</p>"),
    ),
    "Jazz_festival": (
        "Jazz festival",
        ("<p>A jazz festival is a music festival; album recordings are often made live.</p>"),
    ),
}
REDIRECTS = {
    "Ray": ("Ray", "Ray_Charles"),
    "In_Person": ("In Person", "Ray_Charles_in_Person"),
    "Herndon_Stadium": ("Herndon Stadium", "Ray_Charles_in_Person"),
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class _Item(Item):
    """An entry for libzim's writer, from in-memory content (the getters are libzim's API)."""

    def __init__(
        self, path: str, title: str, mimetype: str, content: str | bytes, front: bool
    ) -> None:
        super().__init__()
        self._path, self._title, self._mime = path, title, mimetype
        self._content, self._front = content, front

    def get_path(self) -> str:
        return self._path

    def get_title(self) -> str:
        return self._title

    def get_mimetype(self) -> str:
        return self._mime

    def get_contentprovider(self) -> StringProvider:
        return StringProvider(self._content)

    def get_hints(self) -> dict:
        return {Hint.FRONT_ARTICLE: self._front}


def make_zim(path: Path, *, fulltext: bool = True, name: str | None = ZIM_NAME) -> Path:
    """Write a small wiki-like ZIM: linked articles, redirects, an image and a stylesheet."""
    creator = Creator(str(path)).config_indexing(fulltext, "eng")
    creator.config_verbose(False)
    with creator as c:
        c.set_mainpath("Ray_Charles")
        if name:
            c.add_metadata("Name", name)
        c.add_metadata("Title", "Test wiki")
        c.add_metadata("Language", "eng")
        for entry_path, (title, body) in ARTICLES.items():
            c.add_item(_Item(entry_path, title, "text/html", page(title, body), True))
        # Non-articles, one of them marked front article with a title that matches searches.
        c.add_item(_Item("I/photo.png", "Ray Charles photo", "image/png", PNG, True))
        c.add_item(
            _Item(
                "-/style.css",
                "Ray Charles style",
                "text/css",
                "body { color: black } /* Herndon Stadium radio */",
                False,
            )
        )
        for entry_path, (title, target) in REDIRECTS.items():
            c.add_redirection(entry_path, title, target, {Hint.FRONT_ARTICLE: True})
    return path


def make_zim_pages(path: Path, name: str, pages: dict[str, tuple[str, str]]) -> Path:
    """Write a ZIM (with a full-text index) of ``pages``: entry path -> (title, whole HTML)."""
    creator = Creator(str(path)).config_indexing(True, "eng")
    creator.config_verbose(False)
    with creator as c:
        c.set_mainpath(next(iter(pages)))
        c.add_metadata("Name", name)
        for entry_path, (title, html) in pages.items():
            c.add_item(_Item(entry_path, title, "text/html", html, True))
    return path


def http_response(
    writer: WARCWriter, url: str, body: bytes, content_type: str, status: str = "200 OK"
) -> None:
    """Append one HTTP ``response`` record."""
    headers = StatusAndHeaders(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    writer.write_record(
        writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
    )


def make_warc(path: Path, *, gzip: bool = True) -> Path:
    """Write a WARC with HTML, Latin-1, plain-text, image, 404, request and duplicate records."""
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gzip)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "webqa tests"}))
        http_response(
            w,
            "http://example.com/",
            page(
                "Example home", ('<p>Welcome. Read <a href="/herndon">the concert page</a>.</p>')
            ).encode(),
            "text/html; charset=utf-8",
        )
        http_response(
            w,
            "http://example.com/herndon",
            page(
                "Herndon concert",
                (
                    "<p>Ray Charles recorded a live album at Herndon Stadium in Atlanta; the radio "
                    "station WAOK sponsored the concert.</p>"
                ),
            ).encode(),
            "text/html; charset=utf-8",
        )
        http_response(
            w,
            "http://example.com/latin",
            page(
                "Caf\u00e9 menu", ("<p>Cr\u00e8me br\u00fbl\u00e9e and caf\u00e9 au lait.</p>")
            ).encode("latin-1"),
            "text/html; charset=iso-8859-1",
        )
        http_response(w, "http://example.com/notes.txt", b"Plain notes about zebras.", "text/plain")
        http_response(w, "http://example.com/logo.png", PNG, "image/png")
        http_response(
            w,
            "http://example.com/gone",
            b"<p>missing zebras</p>",
            "text/html",
            status="404 Not Found",
        )
        w.write_record(
            w.create_warc_record(
                "http://example.com/herndon",
                "request",
                payload=io.BytesIO(b"GET /herndon HTTP/1.1\r\n\r\n"),
            )
        )
        http_response(
            w, "http://example.com/twice", page("First capture", "<p>old</p>").encode(), "text/html"
        )
        http_response(
            w,
            "http://example.com/twice",
            page("Second capture", "<p>new</p>").encode(),
            "text/html",
        )
    return path


def make_folder(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (relative path -> text or bytes) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root

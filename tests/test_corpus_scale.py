"""Folder indexes at scale: what a quick open notices, what only a full check finds, and that
an up-to-date open neither writes nor waits for the build lock."""

from __future__ import annotations

import os
import threading
from contextlib import closing
from pathlib import Path

import pytest
from corpus_fixtures import make_folder

from webqa.corpus import FolderCorpus, build_index, open_corpus
from webqa.corpus.fts import build_lock

PAST = 1_000_000_000  # 2001: folder mtimes well clear of "just now"


class QuickFolder(FolderCorpus):
    """A folder corpus that never compares file by file unless asked (a 'large' folder)."""

    full_check_files = 0


def _site(tmp_path: Path) -> Path:
    root = make_folder(
        tmp_path / "site",
        {
            f"d{i % 3}/page{i}.html": f"<title>Page {i}</title><p>marker{i} words</p>"
            for i in range(12)
        }
        | {"top.txt": "a top level page about okapis"},
    )
    _age(root)
    return root


def _age(root: Path) -> None:
    """Move every folder's mtime into the past, as for a folder indexed long ago."""
    for folder, _, _ in os.walk(root):
        os.utime(folder, (PAST, PAST))


def _urls(corpus) -> list[str]:
    return [r.url for r in corpus]


def test_a_quick_open_finds_added_and_removed_files_and_folders(tmp_path):
    root, cache = _site(tmp_path), tmp_path / "cache"
    QuickFolder(root, cache_dir=cache).close()
    (root / "d1" / "page1.html").unlink()
    (root / "d2" / "new.txt").write_text("a quokka arrived")
    (root / "fresh" / "deep").mkdir(parents=True)
    (root / "fresh" / "deep" / "x.md").write_text("# Wombat\n\nwombat burrows")
    for path in (root / "d0").iterdir():
        path.unlink()
    (root / "d0").rmdir()
    with closing(QuickFolder(root, cache_dir=cache)) as corpus:
        stats = corpus.last_refresh
        assert (stats.added, stats.removed) == (2, 5)
        assert stats.documents == 13 - 5 + 2 and stats.unchanged == stats.documents - 2
        assert _urls(corpus.search("quokka")) == ["local://site/d2/new.txt"]
        assert _urls(corpus.search("wombat")) == ["local://site/fresh/deep/x.md"]
        assert corpus.search("marker1") == [] and corpus.search("marker3") == []


def test_a_file_rewritten_in_place_is_found_by_a_full_check_only(tmp_path):
    root, cache = _site(tmp_path), tmp_path / "cache"
    QuickFolder(root, cache_dir=cache).close()
    page = root / "d1" / "page4.html"
    page.write_text("<title>Page 4</title><p>rewritten aardvark</p>")
    os.utime(page, (PAST, PAST))
    os.utime(page.parent, (PAST, PAST))  # an in-place write leaves the folder's mtime alone
    with closing(QuickFolder(root, cache_dir=cache)) as corpus:
        assert corpus.last_refresh.updated == 0
        assert corpus.search("aardvark") == []
    with closing(QuickFolder(root, cache_dir=cache, full=True)) as corpus:
        stats = corpus.last_refresh
        assert (stats.added, stats.updated, stats.removed, stats.unchanged) == (0, 1, 0, 12)
        assert _urls(corpus.search("aardvark")) == ["local://site/d1/page4.html"]


def test_build_index_full_and_small_folders_compare_every_file(tmp_path):
    root, cache = _site(tmp_path), tmp_path / "cache"
    build_index(root, cache_dir=cache)
    page = root / "top.txt"
    page.write_text("okapis and a pangolin")
    os.utime(page, (PAST, PAST))
    os.utime(root, (PAST, PAST))
    # 13 files: under FULL_CHECK_FILES, so even a plain open compares file by file.
    with closing(open_corpus(root, cache_dir=cache)) as corpus:
        assert corpus.last_refresh.updated == 1
        assert _urls(corpus.search("pangolin")) == ["local://site/top.txt"]
    page.write_text("okapis and a narwhal")
    os.utime(page, (PAST + 5, PAST + 5))
    os.utime(root, (PAST, PAST))
    stats = build_index(root, cache_dir=cache, full=True)
    assert (stats.updated, stats.unchanged, stats.documents) == (1, 12, 13)


def test_an_up_to_date_open_takes_no_lock_and_writes_nothing(tmp_path):
    root, cache = _site(tmp_path), tmp_path / "cache"
    with closing(QuickFolder(root, cache_dir=cache)) as corpus:
        path = corpus.index.path
    files = [Path(f"{path}{s}") for s in ("", "-wal")]
    before = [(f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists()]
    opened: list[object] = []
    with build_lock(path):  # another process refreshing: a quick open must not wait for it

        def open_it() -> None:
            with closing(open_corpus(root, cache_dir=cache)) as c:
                opened.append(c.last_refresh)

        worker = threading.Thread(target=open_it, daemon=True)
        worker.start()
        worker.join(10)
        assert not worker.is_alive(), "an up-to-date open waited for the build lock"
    assert opened and opened[0].unchanged == 13
    assert [(f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists()] == before


def test_an_interrupted_build_leaves_no_index_behind(tmp_path):
    root, cache = _site(tmp_path), tmp_path / "cache"

    def stop(done, total, item):
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        FolderCorpus(root, cache_dir=cache, progress=stop)
    assert not list(cache.glob("*.sqlite3")) and not list(cache.glob("*.build"))
    with closing(open_corpus(root, cache_dir=cache)) as corpus:
        assert corpus.last_refresh.added == 13


class EagerWorkers(FolderCorpus):
    """Hands reading to worker processes after a handful of files."""

    parallel_after = 3


def test_worker_processes_index_exactly_what_one_process_does(tmp_path):
    files: dict[str, str | bytes] = {
        f"d{i % 4}/p{i}.html": f"<title>P{i}</title><p>word{i} shared text</p>" for i in range(600)
    }
    files["d1/bad.txt"] = b"\xff\xfe\x00broken utf-16 and more bytes \x80\x81"
    root = make_folder(tmp_path / "site", files)
    rows = []
    for kind, cache in ((FolderCorpus, tmp_path / "one"), (EagerWorkers, tmp_path / "many")):
        with closing(kind(root, cache_dir=cache)) as corpus:
            stats = corpus.last_refresh
            docs = sorted(corpus.index.db.execute("SELECT key, url, title FROM docs"))
            rows.append(
                (stats.added, sorted(stats.skipped), docs, _urls(corpus.search("word77 shared", 1)))
            )
    assert rows[0] == rows[1]
    assert rows[0][0] >= 601 and rows[0][3] == ["local://site/d1/p77.html"]

"""Compiled templates are cached on disk; a damaged or unwritable cache is no cache."""

from __future__ import annotations

import os
import subprocess
import sys

RENDER = (
    "from webqa import prompts; "
    "print(prompts.render('answer.j2', question='Q?', quotes=[]).strip()[:40])"
)


def _render(home) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RENDER],
        capture_output=True,
        text=True,
        env={**os.environ, "WEBQA_HOME": str(home)},
        timeout=60,
    )


def test_templates_are_compiled_once_and_read_back(tmp_path):
    first = _render(tmp_path)
    assert first.returncode == 0, first.stderr
    cached = list((tmp_path / "templates").iterdir())
    assert cached and all(p.stat().st_size > 100 for p in cached)
    again = _render(tmp_path)
    assert again.returncode == 0 and again.stdout == first.stdout


def test_a_damaged_cache_file_is_compiled_afresh(tmp_path):
    assert _render(tmp_path).returncode == 0
    for p in (tmp_path / "templates").iterdir():
        p.write_bytes(os.urandom(300))
    good = _render(tmp_path / "other")
    damaged = _render(tmp_path)
    assert damaged.returncode == 0, damaged.stderr
    assert damaged.stdout == good.stdout


def test_a_cache_folder_that_cannot_be_made_is_no_error(tmp_path):
    # A file where the folder should be: nothing can be written there, even by root.
    (tmp_path / "templates").write_text("not a folder")
    done = _render(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()

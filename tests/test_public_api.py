"""The public names stay exported, and the prompts ship inside the built wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import webqa

ROOT = Path(__file__).resolve().parent.parent


def test_public_names_resolve():
    expected = {
        "ask",
        "Answer",
        "Citation",
        "Browser",
        "Agent",
        "WebLoader",
        "Session",
        "ExtractivePolicy",
        "LLMPolicy",
        "HumanPolicy",
        "ReplayPolicy",
        "ScriptedPolicy",
        "ChatClient",
        "SearchEngine",
        "DocumentSource",
        "Document",
        "Page",
        "Quote",
        "TraceWriter",
        "read_trace",
        "open_corpus",
        "WebQAError",
        "ModelError",
        "FetchError",
    }
    assert expected <= set(webqa.__all__)
    for name in webqa.__all__:
        assert getattr(webqa, name) is not None, name


def test_import_is_light():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, webqa; print(sorted(m for m in ('lxml', 'openai', "
            "'libzim', 'rich', 'jinja2', 'httpx') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_every_prompt_template_renders():
    from webqa import prompts
    from webqa.records import Quote

    quote = Quote("https://e.org/a", "A page", "Some text.")
    assert len(prompts.load("answer_system.md")) > 100
    system = prompts.system()
    for entry in prompts.commands():  # the command list comes from the one table
        assert entry["form"] in system
    answer = prompts.render("answer.j2", question="Q?", quotes=[quote])
    assert answer.startswith("Q?■") and "[1] A page (e.org)\n\nSome text.■" in answer


def test_wheel_contains_prompts(tmp_path):
    code = "import sys; from hatchling.build import build_wheel; print(build_wheel(sys.argv[1]))"
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wheel = tmp_path / out.stdout.strip().splitlines()[-1]
    names = zipfile.ZipFile(wheel).namelist()
    for prompt in ROOT.joinpath("prompts").iterdir():
        assert f"webqa/prompts/{prompt.name}" in names

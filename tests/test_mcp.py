"""``webqa mcp`` through the SDK's own client: stdio and streamable HTTP subprocesses on the demo
site, session isolation, bad input as tool errors, and the live-web guard unchanged."""

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import pytest
from chatserver import ChatServer
from mcp import Client, StdioServerParameters

from webqa.mcp_server import MCP_QUESTION, SessionStore, build_server
from webqa.records import SearchResult
from webqa.session import Session
from webqa.trace import load_trace
from webqa.tracetools import replay

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demos" / "solar-system"
EVIDENCE = "Neptune was discovered on 23 September 1846 by Johann Galle at the Berlin Observatory"


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "text", None))


def flat(s):
    return " ".join(s.split())


def page_text(name):
    return flat(re.sub(r"<[^>]+>", " ", (DEMO / name).read_text(encoding="utf-8")))


def command(*extra):
    return [sys.executable, "-m", "webqa.cli", "mcp", "--corpus", str(DEMO), "-q", *extra]


def test_stdio_search_open_find_quote_verbatim_and_trace(tmp_path):
    traces = tmp_path / "traces"
    params = StdioServerParameters(
        command=sys.executable,
        args=command("--traces", str(traces))[1:],
        env={"WEBQA_HOME": str(tmp_path / "home"), "PATH": ""},
    )

    async def session():
        async with Client(params) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            assert names == [
                "search",
                "click",
                "open",
                "find",
                "quote",
                "scroll",
                "back",
                "cited_answer",
                "ask",
            ]
            found = await client.call_tool("search", {"query": "Neptune discovered"})
            assert not found.is_error and "【0†Neptune】" in text(found)
            opened = await client.call_tool("open", {"url": "local://solar-system/neptune.html"})
            assert not opened.is_error and text(opened).startswith("Opened Neptune")
            hit = await client.call_tool("find", {"text": "Berlin Observatory"})
            assert not hit.is_error and text(hit).startswith("Found on line")
            kept = await client.call_tool("quote", {"text": EVIDENCE})
            assert not kept.is_error and text(kept).startswith("Quoted [1] from Neptune")
            # bad input: each a tool error with webqa's message, and the session goes on
            bad = await client.call_tool("click", {"link": 99})
            assert bad.is_error and "There is no link 99 on this page" in text(bad)
            bad = await client.call_tool("quote", {"text": "Neptune is made of green cheese."})
            assert bad.is_error and "That text is not on this page" in text(bad)
            started = time.monotonic()
            bad = await client.call_tool("search", {"query": "x" * 1_000_000})
            assert bad.is_error and "20000 characters" in text(bad)
            assert time.monotonic() - started < 10
            bad = await client.call_tool("click", {"link": "third"})
            assert bad.is_error and "link" in text(bad)
            cited = json.loads(text(await client.call_tool("cited_answer", {})))["quotes"]
            return cited

    cited = anyio.run(session)
    assert [q["n"] for q in cited] == [1]
    assert cited[0]["url"] == "local://solar-system/neptune.html"
    assert cited[0]["text"].startswith(EVIDENCE)
    assert flat(cited[0]["text"]) in page_text("neptune.html")  # verbatim from the page
    (path,) = traces.glob("*.jsonl")
    trace = load_trace(path)
    assert trace.question == MCP_QUESTION and trace.complete
    assert trace.run["config"]["corpus"] == str(DEMO)
    assert [s["command"] for s in trace.steps][:4] == [
        "Search Neptune discovered",
        "Open local://solar-system/neptune.html",
        "Find in page: Berlin Observatory",
        f"Quote: {EVIDENCE}",
    ]
    assert trace.steps[-1]["command"] == "End: Answer"
    assert trace.end["status"] == "answered"
    assert replay(trace).ok


@pytest.fixture
def http_server(tmp_path):
    with ChatServer(default=("hang", 5, "End: Answer")) as chat:
        args = command(
            "--http",
            "0",
            "--traces",
            str(tmp_path / "traces"),
            "--base-url",
            chat.url,
            "--model",
            "m",
            "--timeout",
            "20",
        )
        args.remove("-q")
        proc = subprocess.Popen(
            args,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={"WEBQA_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "COLUMNS": "200"},
        )
        url: list[str] = []
        ready = threading.Event()

        def read():
            assert proc.stderr is not None
            for line in proc.stderr:
                m = re.search(r"MCP server at (http://\S+)", line)
                if m:
                    url.append(m.group(1))
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            assert ready.wait(20), "the server did not start"
            yield url[0], tmp_path / "traces"
        finally:
            chat.close()  # ends the hanging reply first, so the server stops at once
            proc.terminate()
            proc.wait(10)


def test_http_sessions_are_isolated_and_survive_bad_input_and_disconnects(http_server):
    url, traces = http_server

    async def browse(query, page, evidence):
        async with Client(url, mode="legacy") as client:  # a stateful connection
            assert not (await client.call_tool("search", {"query": query})).is_error
            opened = await client.call_tool("open", {"url": f"local://solar-system/{page}"})
            assert not opened.is_error
            await anyio.sleep(0.2)  # the other session works meanwhile
            kept = await client.call_tool("quote", {"text": evidence})
            assert not kept.is_error, text(kept)
            return json.loads(text(await client.call_tool("cited_answer", {})))["quotes"]

    async def hang_up():
        async with Client(url, mode="legacy") as client:
            with anyio.move_on_after(0.5):  # ask waits on the LLM: leave mid-call
                await client.call_tool("ask", {"question": "Who discovered Neptune?"})

    async def main():
        results = {}

        async def one(name, *args):
            results[name] = await browse(*args)

        async with anyio.create_task_group() as tg:
            tg.start_soon(hang_up)
            tg.start_soon(one, "a", "Neptune discovered", "neptune.html", EVIDENCE)
            tg.start_soon(
                one,
                "b",
                "Voyager launch",
                "missions/voyager.html",
                "Voyager 1 was launched on 5 September 1977",
            )
        # a stateless (2026) client: each result names its session, which it passes back
        async with Client(url) as client:
            first = text(await client.call_tool("search", {"query": "Titan"}))
            key = re.search(r"♦Session (\w+)", first).group(1)
            more = await client.call_tool("scroll", {"direction": "down", "session": key})
            assert not more.is_error and f"♦Session {key}" in text(more)
            gone = await client.call_tool("back", {"session": "nosuchsession"})
            assert gone.is_error and "There is no browsing session 'nosuchsession'" in text(gone)
        return results

    started = time.monotonic()
    results = anyio.run(main)
    assert time.monotonic() - started < 20
    assert [q["url"] for q in results["a"]] == ["local://solar-system/neptune.html"]
    assert [q["url"] for q in results["b"]] == ["local://solar-system/missions/voyager.html"]
    assert flat(results["b"][0]["text"]) in page_text("missions/voyager.html")
    # the closed connections' sessions wrote their traces, each with only its own steps
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done = [load_trace(p) for p in traces.glob("*.jsonl")]
        ended = [t for t in done if t.complete and t.question == MCP_QUESTION]
        if len(ended) >= 2:
            break
        time.sleep(0.1)
    firsts = sorted(t.steps[0]["command"] for t in ended)
    assert "Search Neptune discovered" in firsts and "Search Voyager launch" in firsts
    for t in ended:
        assert (
            len(
                {s["command"].split()[0] for s in t.steps if s["command"]}
                - {"Search", "Open", "Quote:", "End:", "Scrolled"}
            )
            == 0
        )


class _Engine:
    """A live-web search engine stand-in whose one result is a private address."""

    name = "fake"

    def search(self, query, limit=10):
        return [SearchResult("Router admin", "http://192.168.1.1/admin", "")]


def test_live_web_guard_applies_to_mcp_open(tmp_path):
    with Session(
        engine=_Engine(), check_network=False, policy="extractive", trace=False
    ) as session:
        server, store = build_server(session, single=True, trace_dir=tmp_path)

        async def main():
            async with Client(server) as client:
                blocked = await client.call_tool("open", {"url": "http://127.0.0.1:9/secret"})
                meta = await client.call_tool("open", {"url": "http://169.254.169.254/latest"})
                found = await client.call_tool("search", {"query": "router"})
                clicked = await client.call_tool("click", {"link": 0})
                return blocked, meta, found, clicked

        blocked, meta, found, clicked = anyio.run(main)
        store.close()
    assert blocked.is_error and "private" in text(blocked).lower()
    assert meta.is_error
    assert not found.is_error and clicked.is_error and "192.168.1.1" in text(clicked)


def test_store_sessions_are_separate_and_end_when_idle(tmp_path):
    now = [0.0]
    with Session(corpus=DEMO, policy="extractive", trace=False) as session:
        store = SessionStore(
            session, trace_dir=tmp_path, idle_timeout=60, max_sessions=2, clock=lambda: now[0]
        )
        from webqa.commands import Command

        a, b = store.get("a"), store.get("b")
        a.execute(Command("search", "Neptune"))
        assert b.run.browser.view is None and a.run.browser.view is not None
        with pytest.raises(Exception, match="already holds 2 browsing sessions"):
            store.get("c")
        now[0] = 61.0 + time.monotonic()
        store.sweep()
        assert len(store) == 0 and a.closed and b.closed
    ended = [load_trace(p) for p in tmp_path.glob("*.jsonl")]
    assert sorted(t.end["status"] for t in ended) == ["no_quotes", "no_quotes"]


def test_a_session_at_its_action_limit_ends_and_the_next_call_starts_afresh(tmp_path):
    from webqa.commands import Command
    from webqa.errors import ActionError

    with Session(corpus=DEMO, policy="extractive", trace=False) as session:
        store = SessionStore(session, trace_dir=tmp_path, max_actions=2)
        first = store.get("stdio")
        first.execute(Command("search", "Neptune"))
        first.execute(Command("click", "0"))
        with pytest.raises(ActionError, match="used all its 2 actions and has ended"):
            first.execute(Command("back"))
        assert first.closed
        second = store.get("stdio")
        assert second is not first and second.run.browser.view is None
        store.close()
    ended = sorted((load_trace(p) for p in tmp_path.glob("*.jsonl")), key=lambda t: -len(t.steps))
    assert [s["command"] for s in ended[0].steps] == [
        "Search Neptune",
        "Clicked on link 0",
        "End: Answer",
    ]


def test_sigterm_on_stdio_ends_the_session_trace_and_exits(tmp_path):
    import signal

    traces = tmp_path / "traces"
    proc = subprocess.Popen(
        command("--traces", str(traces)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"WEBQA_HOME": str(tmp_path / "home")},
    )

    def rpc(message):
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline()) if "id" in message else None

    try:
        rpc(
            {
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            }
        )
        rpc({"method": "notifications/initialized"})
        found = rpc(
            {
                "id": 2,
                "method": "tools/call",
                "params": {"name": "search", "arguments": {"query": "Neptune"}},
            }
        )
        assert "Search showed" in found["result"]["content"][0]["text"]
        proc.send_signal(signal.SIGTERM)  # stdin still open
        assert proc.wait(10) == 130
    finally:
        proc.kill()
    (path,) = traces.glob("*.jsonl")
    trace = load_trace(path)
    assert trace.complete and [s["command"] for s in trace.steps] == [
        "Search Neptune",
        "End: Answer",
    ]

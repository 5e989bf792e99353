"""Protocol benchmarks: prompt tokens per step, text vs tools; MCP round-trip latency.

    python benchmarks/bench_protocols.py [--corpus PATH --questions FILE] [--limit 20]
                                         [--calls 100] [--json]

1. Prompt tokens per browsing step with ``--protocol text`` and ``--protocol tools``. The
   extractive policy answers each question (no LLM); its commands are then replayed through
   both protocols against the scripted loopback chat server (tests/chatserver.py) — as text
   replies, and as tool calls — so both see the same pages and observations. Tokens are
   characters / 4 (no tokenizer can be downloaded here) of the messages, plus, for ``tools``,
   of the tool schemas sent with every call (servers render them into the prompt; their
   templates differ, so this is the JSON's size). Default: the demo site and its questions;
   with ``../shared/data`` present, the Ray Charles ZIM and its dev questions too.
2. MCP round-trip latency over stdio: ``webqa mcp`` on the demo site as a subprocess, driven by
   the SDK's client; ``--calls`` ``search`` and ``open`` calls each, p50 / p95 in ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chatserver import ChatServer, prompt_text  # noqa: E402

from webqa import prompts  # noqa: E402
from webqa.commands import parse  # noqa: E402
from webqa.session import Session  # noqa: E402
from webqa.toolspec import tool_call_for, tool_schemas, tools_system  # noqa: E402
from webqa.trace import load_trace  # noqa: E402

DEMO = ROOT / "demos" / "solar-system"
SHARED = ROOT.parent / "shared" / "data"


def tokens(chars: int) -> int:
    """The scripted server's count: characters / 4."""
    return chars // 4


def commands_for(corpus: Path, question: str, tmp: Path) -> list[str]:
    """The extractive policy's commands for ``question`` (its trace's canonical texts)."""
    path = tmp / f"q{abs(hash(question))}.jsonl"
    with Session(corpus=corpus, policy="extractive", trace=path) as session:
        session.ask(question)
    return [s["command"] for s in load_trace(path).steps if s["command"]]


class Replayer:
    """A scripted model replaying one command list as text or tool calls, per request."""

    def __init__(self, commands: list[str], tools: bool) -> None:
        self.left, self.tools = list(commands), tools
        self.browse_system = prompts.system()

    def __call__(self, request: dict[str, Any]) -> Any:
        system = request["messages"][0]["content"]
        browsing = "tools" in request or system == self.browse_system
        if not browsing:
            return "The answer [1]."
        text = self.left.pop(0) if self.left else "End: Answer"
        if not self.tools:
            return text
        name, args = tool_call_for(parse(text))
        return ("tool_calls", [(name, json.dumps(args))])


def step_tokens(corpus: Path, questions: list[str], tmp: Path) -> dict[str, Any]:
    """Prompt tokens per browsing step for both protocols over the questions' commands."""
    per: dict[str, list[int]] = {"text": [], "tools": []}
    schema_chars = len(json.dumps(tool_schemas(), ensure_ascii=False))
    steps = 0
    for question in questions:
        commands = commands_for(corpus, question, tmp)
        steps += len(commands)
        for protocol in ("text", "tools"):
            replayer = Replayer(commands, protocol == "tools")
            with ChatServer(default=replayer) as server:
                with Session(
                    corpus=corpus, base_url=server.url, model="m", protocol=protocol, trace=False
                ) as session:
                    session.ask(question)
                for request in server.requests:
                    if protocol == "tools" and "tools" not in request:
                        continue  # the answer phase
                    if (
                        protocol == "text"
                        and request["messages"][0]["content"] != replayer.browse_system
                    ):
                        continue
                    chars = len(prompt_text(request))
                    if "tools" in request:
                        chars += len(json.dumps(request["tools"], ensure_ascii=False))
                    per[protocol].append(tokens(chars))
    out: dict[str, Any] = {
        "corpus": str(corpus),
        "questions": len(questions),
        "steps": steps,
        "tool_schemas_tokens": tokens(schema_chars),
        "text_system_tokens": tokens(len(prompts.system())),
        "tools_system_tokens": tokens(len(tools_system())),
    }
    for protocol, values in per.items():
        if values:
            out[protocol] = {
                "median": statistics.median(values),
                "mean": round(statistics.fmean(values)),
                "max": max(values),
                "n": len(values),
            }
    if per["text"] and per["tools"]:
        out["tools_minus_text_median"] = out["tools"]["median"] - out["text"]["median"]
    return out


def mcp_latency(calls: int) -> dict[str, Any]:
    """p50 / p95 round trips of ``search`` and ``open`` over stdio on the demo site."""
    import anyio
    from mcp import Client, StdioServerParameters

    pages = sorted(p.relative_to(DEMO).as_posix() for p in DEMO.rglob("*.html"))
    queries = [
        "Neptune discovery",
        "Voyager launch",
        "largest moon",
        "Saturn rings",
        "Huygens landing",
        "Mars sol",
        "Kuiper belt",
        "comet tails",
    ]
    with tempfile.TemporaryDirectory() as home:
        params = StdioServerParameters(
            command=sys.executable,
            args=[
                "-m",
                "webqa.cli",
                "mcp",
                "--corpus",
                str(DEMO),
                "-q",
                "--traces",
                home,
                "--session-actions",
                str(10 * calls),
            ],
            env={"WEBQA_HOME": home},
        )
        times: dict[str, list[float]] = {"search": [], "open": []}

        async def run() -> float:
            started = time.perf_counter()
            async with Client(params) as client:
                connected = time.perf_counter() - started
                await client.call_tool("search", {"query": "warm up"})
                for i in range(calls):
                    for tool, args in (
                        ("search", {"query": queries[i % len(queries)]}),
                        ("open", {"url": "local://solar-system/" + pages[i % len(pages)]}),
                    ):
                        t = time.perf_counter()
                        result = await client.call_tool(tool, args)
                        times[tool].append((time.perf_counter() - t) * 1000)
                        assert not result.is_error, result
            return connected

        connected = anyio.run(run)
    out: dict[str, Any] = {"calls": calls, "connect_s": round(connected, 2)}
    for tool, values in times.items():
        q = statistics.quantiles(values, n=100)
        out[tool] = {"p50_ms": round(statistics.median(values), 2), "p95_ms": round(q[94], 2)}
    return out


def main() -> None:
    """Run both benchmarks and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, help="a corpus (default: the demo site)")
    ap.add_argument("--questions", type=Path, help="its questions (JSONL with 'question')")
    ap.add_argument("--limit", type=int, default=20, help="questions per corpus (default 20)")
    ap.add_argument("--calls", type=int, default=100, help="MCP calls per tool (default 100)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    sets = (
        [(args.corpus, args.questions)]
        if args.corpus
        else [(DEMO, ROOT / "demos" / "solar-system-questions.jsonl")]
    )
    zim = SHARED / "wikipedia_en_ray_charles_maxi_2019-08.zim"
    if not args.corpus and zim.exists():
        sets.append((zim, SHARED / "dev-questions.jsonl"))
    results: dict[str, Any] = {"tokens": []}
    with tempfile.TemporaryDirectory() as tmp:
        for corpus, qfile in sets:
            lines = Path(qfile).read_text(encoding="utf-8").splitlines()
            questions = [json.loads(line)["question"] for line in lines if line.strip()]
            results["tokens"].append(step_tokens(corpus, questions[: args.limit], Path(tmp)))
    results["mcp_stdio"] = mcp_latency(args.calls)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results["tokens"]:
        print(f"{Path(r['corpus']).name}: {r['questions']} questions, {r['steps']} steps")
        for protocol in ("text", "tools"):
            if protocol in r:
                v = r[protocol]
                print(
                    f"  {protocol:<5} prompt tokens/step: median {v['median']}, "
                    f"mean {v['mean']}, max {v['max']} (n={v['n']})"
                )
        print(
            f"  tool schemas sent with every tools call: {r['tool_schemas_tokens']} tokens; "
            f"system prompts: text {r['text_system_tokens']}, tools {r['tools_system_tokens']}"
        )
    m = results["mcp_stdio"]
    print(
        f"MCP over stdio (demo site, {m['calls']} calls each, connect {m['connect_s']} s): "
        f"search p50 {m['search']['p50_ms']} ms / p95 {m['search']['p95_ms']} ms; "
        f"open p50 {m['open']['p50_ms']} ms / p95 {m['open']['p95_ms']} ms"
    )


if __name__ == "__main__":
    main()

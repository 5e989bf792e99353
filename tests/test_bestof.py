"""Best-of-n: N samples per question kept in traces, one chosen by support, judge or reward."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from chatserver import ChatServer
from scripted_browser import browsing_model

from webqa.batch import Item
from webqa.bestof import make_scorer, parse_judge_scores
from webqa.errors import ConfigError, ModelError
from webqa.evaluate import evaluate, load_results
from webqa.trace import read_trace

SITE = Path(__file__).resolve().parent.parent / "demos" / "solar-system"
ITEM = Item("Who discovered the planet Neptune?", "n", ["Galle"])
GOOD = "Johann Galle discovered Neptune at the Berlin Observatory [1]."
WEAK = "Neptune is very far away from the Sun and it is cold. It was found [1]."


def _alternating(*answers: str):
    lock, count = threading.Lock(), [0]

    def answer(prompt: str) -> str:
        with lock:
            count[0] += 1
            return answers[(count[0] - 1) % len(answers)]

    return answer


def _run(tmp_path, server, **options):
    return evaluate(
        [ITEM],
        tmp_path / "run",
        best_of=4,
        corpus=SITE,
        policy="llm",
        model="m",
        base_url=server.url,
        max_actions=20,
        **options,
    )


def test_support_keeps_every_sample_and_marks_the_best_supported(tmp_path):
    with ChatServer(default=browsing_model(_alternating(WEAK, GOOD, WEAK, WEAK))) as server:
        summary = _run(tmp_path, server)
    row = load_results(tmp_path / "run")["n"]
    assert row["answer"] == GOOD and row["correct"] is True
    best = row["best_of"]
    assert best["n"] == 4 and best["scorer"] == "support" and len(best["scores"]) == 4
    assert sorted(best["answers"]) == sorted([WEAK, GOOD, WEAK, WEAK])
    chosen = best["chosen"]
    assert best["answers"][chosen] == GOOD
    assert best["scores"][chosen] == max(best["scores"])
    assert row["trace"] == best["samples"][chosen]
    marks = []
    for k, path in enumerate(best["samples"]):
        assert Path(path).name == f"n.sample-{k}.jsonl"
        events = read_trace(path)
        assert events[0]["type"] == "run" and any(e["type"] == "answer" for e in events)
        choice = events[-1]
        assert choice["type"] == "choice" and choice["sample"] == k
        marks.append(choice["chosen"])
    assert marks.count(True) == 1 and marks.index(True) == chosen
    assert summary.best_of == 4 and summary.scorer == "support"


def test_judge_is_asked_again_once_after_nonsense(tmp_path):
    replies = iter(["I like the second one.", json.dumps({"scores": [1, 2, 9, 3]})])
    judged = []

    def judge(prompt: str) -> str:
        judged.append(prompt)
        return next(replies)

    model = browsing_model(_alternating(WEAK, GOOD, "Galle found it [1].", WEAK), judge=judge)
    with ChatServer(default=model) as server:
        _run(tmp_path, server, scorer="judge")
    best = load_results(tmp_path / "run")["n"]["best_of"]
    assert len(judged) == 2 and "Question: Who discovered the planet Neptune?" in judged[0]
    assert best["scorer"] == "judge" and best["scores"] == [1, 2, 9, 3] and best["chosen"] == 2


def test_judge_that_keeps_answering_nonsense_falls_back_to_support(tmp_path):
    model = browsing_model(_alternating(WEAK, GOOD), judge=lambda prompt: '{"scores": 7}')
    with ChatServer(default=model) as server:
        _run(tmp_path, server, scorer="judge")
    best = load_results(tmp_path / "run")["n"]["best_of"]
    assert best["scorer"] == "support" and "did not answer with 4 scores" in best["scorer_error"]
    assert best["answers"][best["chosen"]] == GOOD


def test_parse_judge_scores_rejects_nonsense():
    assert parse_judge_scores('Sure: {"scores": [0, 10.0]}', 2) == [0.0, 10.0]
    for reply in (
        "",
        "{}",
        '{"scores": [1]}',
        '{"scores": [1, 11]}',
        '{"scores": [true, 1]}',
        '{"scores": "1, 2"}',
        "{broken",
    ):
        with pytest.raises(ModelError):
            parse_judge_scores(reply, 2)


class _Reward(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Reward.seen.append(body)
        data = json.dumps({"score": len(body["answer"]) * (2 if "Galle" in body["answer"] else 1)})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data.encode())


def test_reward_endpoint_scores_each_sample(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Reward)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/score"
    try:
        with ChatServer(default=browsing_model(_alternating(WEAK, GOOD))) as chat:
            _run(tmp_path, chat, scorer="reward", reward_url=url)
    finally:
        server.shutdown()
        server.server_close()
    best = load_results(tmp_path / "run")["n"]["best_of"]
    assert best["scorer"] == "reward" and best["answers"][best["chosen"]] == GOOD
    scored = [b for b in _Reward.seen if b["question"] != "probe"]
    assert len(scored) == 4
    assert scored[0]["quotes"] and set(scored[0]["quotes"][0]) == {"title", "url", "extract"}


def test_a_down_reward_endpoint_is_a_clear_error_at_start():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="reward endpoint .* does not answer"):
        make_scorer("reward", reward_url=f"http://127.0.0.1:{port}/score")
    assert time.perf_counter() - started < 5
    with pytest.raises(ConfigError, match="--reward-url"):
        make_scorer("reward")
    with pytest.raises(ConfigError, match="unknown scorer"):
        make_scorer("vibes")


def test_support_checks_each_sample_once_and_the_row_counts_what_a_fresh_check_finds(tmp_path):
    from webqa.scoring import citations_verbatim

    half = "Johann Galle discovered Neptune [1]. He never said this at all, not once [2]."
    with ChatServer(default=browsing_model(_alternating(WEAK, GOOD, half, WEAK))) as server:
        _run(tmp_path, server)
    row = load_results(tmp_path / "run")["n"]
    chosen = row["best_of"]["samples"][row["best_of"]["chosen"]]
    assert (row["verbatim"], row["citations"]) == citations_verbatim(Path(chosen))
    # the chooser hands back the checks it made while scoring, one per sample
    from webqa.trace import load_trace

    traces = [Path(p) for p in row["best_of"]["samples"]]
    answers = [_answer_of(load_trace(p)) for p in traces]
    choice = make_scorer("support").choose(ITEM.question, answers, traces)
    assert choice.verified == [citations_verbatim(p) for p in traces]


def _answer_of(trace):
    from webqa.records import Answer, Citation, Usage

    event = [e for e in trace.events if e.get("type") == "answer"][-1]
    citations = [
        Citation(**{k: c[k] for k in ("n", "title", "url", "quote")})
        for c in event.get("citations", [])
    ]
    return Answer(ITEM.question, event["text"], citations, "answered", Usage())

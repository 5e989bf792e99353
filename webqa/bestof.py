"""Best-of-n: pick one of N sampled answers to a question with a scorer.

Scorers (``webqa eval --best-of N --scorer NAME``):

- ``support`` (default, no model needed): how well the sample supports itself — the share of its
  claim-bearing sentences that cite a quote, the share of its quotes verbatim on their pages
  (checked against the trace's snapshots), how much of the question the quotes cover, and how
  much the sample agrees with the other samples (token F1), as a weighted sum in 0..1.
- ``judge``: the LLM behind the same OpenAI-compatible endpoint reads every sample and scores
  each 0..10 (prompt ``prompts/judge_bestof.j2``); a reply that is not that is asked again once,
  then the choice falls back to ``support`` and the row says why.
- ``reward``: a reward model behind any HTTP endpoint, one POST per sample::

      {"question": "...", "answer": "... [1]", "quotes": [{"title": "...", "url": "...",
       "extract": "..."}]}          ->   {"score": 0.73}

  Any JSON number is a score; higher is better. The endpoint is tried once at start with a
  probe request, so a down endpoint is a :class:`~webqa.errors.ConfigError` before any run.

A sample that is not ``answered`` is never chosen over one that is.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import ConfigError, ModelError, WebQAError
from .records import Answer
from .scoring import normalize, strip_markers, token_f1

__all__ = ["Choice", "Chooser", "make_scorer", "support_scores", "SCORERS"]

log = logging.getLogger("webqa.bestof")

SCORERS = ("support", "judge", "reward")

_SENTENCE_END = re.compile(r"(?<=[.!?])((?:\s*\[\d+\])*)\s+(?=[\"'(\[]?[A-Z0-9])")
_MARK = re.compile(r"\[\d+\]")
_STOP = set(
    "a an and are as at be by did do does for from had has have how in is it its of on "
    "or that the their this to was were what when where which who whom whose why with "
    "i you he she they we his her".split()
)


@dataclass
class Choice:
    """Which sample was chosen, and every sample's score (None: not eligible)."""

    chosen: int
    scores: list[float | None]
    scorer: str
    details: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    verified: list[tuple[int, int] | None] = field(default_factory=list)
    """Per sample, ``(verbatim, cited)`` as checked against its trace while scoring (None: not
    checked), so the results row need not read the trace again."""


class _Scorer(Protocol):
    name: str

    def scores(
        self, question: str, answers: Sequence[Answer], traces: Sequence[Path]
    ) -> tuple[list[float | None], list[dict[str, Any]]]: ...

    def close(self) -> None: ...


#: the checks the support scorer made, per sample (filled in when it runs)
_Verified = list[tuple[int, int] | None]


class Chooser:
    """Chooses a sample with a scorer; falls back to ``support`` when the scorer fails."""

    def __init__(self, scorer: _Scorer) -> None:
        self.scorer = scorer
        self.name = scorer.name

    def choose(self, question: str, answers: Sequence[Answer], traces: Sequence[Path]) -> Choice:
        """Score ``answers`` (with their traces) and pick the best answered one."""
        error = None
        name = self.scorer.name
        verified: _Verified = []
        try:
            if isinstance(self.scorer, _Support):
                scores, details = support_scores(question, answers, traces, verified=verified)
            else:
                scores, details = self.scorer.scores(question, answers, traces)
        except WebQAError as exc:
            log.warning("webqa: the %s scorer failed (%s); choosing by support", name, exc)
            error, name, verified = str(exc), "support", []
            scores, details = support_scores(question, answers, traces, verified=verified)
        for i, a in enumerate(answers):
            if a.status != "answered" or not a.text:
                scores[i] = None
        eligible = [i for i, s in enumerate(scores) if s is not None]
        chosen = max(eligible, key=lambda i: (scores[i], -i)) if eligible else 0
        return Choice(chosen, scores, name, details, error, verified)

    def close(self) -> None:
        """Release the scorer's client."""
        self.scorer.close()


def make_scorer(
    name: str, *, options: dict[str, Any] | None = None, reward_url: str | None = None
) -> Chooser:
    """A :class:`Chooser` for scorer ``name``; ``options`` are the session's (the judge uses
    their model, base URL and key). Checks the reward endpoint at once."""
    if name == "support":
        return Chooser(_Support())
    if name == "judge":
        return Chooser(_Judge(_judge_client(options or {})))
    if name == "reward":
        if not reward_url:
            raise ConfigError("--scorer reward needs --reward-url URL")
        return Chooser(_Reward(reward_url))
    raise ConfigError(f"unknown scorer {name!r}: use {', '.join(SCORERS)}")


def _judge_client(options: dict[str, Any]) -> Any:
    from .llm import ChatClient

    client = ChatClient.from_env(
        model=options.get("model"),
        base_url=options.get("base_url"),
        api_key=options.get("api_key"),
        timeout=options.get("timeout", 60.0),
    )
    if client is None:
        raise ConfigError(
            "the LLM judge needs a model: pass --model / --base-url or set "
            "WEBQA_MODEL or OPENAI_BASE_URL"
        )
    return client


# ------------------------------------------------------------------------------------ support


def _claim_sentences(text: str) -> list[str]:
    """Sentences of the answer with their own markers (a marker after the full stop stays
    with the sentence it follows); sentences under four words carry no claim."""
    parts = _SENTENCE_END.split(text.strip())
    sentences = [
        parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)
    ]
    return [s for s in sentences if len(strip_markers(s).split()) >= 4]


def _content_words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if w not in _STOP and len(w) > 2}


def support_scores(
    question: str,
    answers: Sequence[Answer],
    traces: Sequence[Path],
    *,
    verified: _Verified | None = None,
) -> tuple[list[float | None], list[dict[str, Any]]]:
    """The ``support`` score of each answer, and its parts. ``verified``, when given, receives
    per answer ``(verbatim, cited)`` from its trace (None where the trace was not read)."""
    from .verify import verify_citations

    asked = _content_words(question)
    scores: list[float | None] = []
    details: list[dict[str, Any]] = []
    texts = [strip_markers(a.text) for a in answers]
    for i, answer in enumerate(answers):
        claims = _claim_sentences(answer.text)
        cited = sum(bool(_MARK.search(s)) for s in claims) / len(claims) if claims else 0.0
        verbatim = 0.0
        checked: tuple[int, int] | None = None
        if answer.citations:
            checks = []
            if traces[i].exists():
                try:
                    checks = verify_citations(traces[i])
                    checked = (sum(c.verbatim for c in checks), len(checks))
                except ConfigError:
                    checks = []
            verbatim = sum(c.verbatim for c in checks) / len(answer.citations)
        if verified is not None:
            verified.append(checked)
        relevance = 0.0
        if answer.citations and asked:
            relevance = sum(
                len(asked & _content_words(c.quote)) / len(asked) for c in answer.citations
            ) / len(answer.citations)
        others = [
            texts[j]
            for j, a in enumerate(answers)
            if j != i and a.status == "answered" and texts[j]
        ]
        agreement = sum(token_f1(texts[i], [t]) for t in others) / len(others) if others else 1.0
        total = 0.35 * cited + 0.25 * verbatim + 0.15 * relevance + 0.25 * agreement
        scores.append(round(total, 4) if answer.text else None)
        details.append(
            {
                "cited": round(cited, 3),
                "verbatim": round(verbatim, 3),
                "relevance": round(relevance, 3),
                "agreement": round(agreement, 3),
            }
        )
    return scores, details


class _Support:
    name = "support"

    def scores(
        self, question: str, answers: Sequence[Answer], traces: Sequence[Path]
    ) -> tuple[list[float | None], list[dict[str, Any]]]:
        return support_scores(question, answers, traces)

    def close(self) -> None:
        pass


# -------------------------------------------------------------------------------------- judge


def _references(answer: Answer) -> list[dict[str, Any]]:
    return [{"n": c.n, "title": c.title, "url": c.url, "quote": c.quote} for c in answer.citations]


def parse_judge_scores(text: str, n: int) -> list[float]:
    """The judge's ``{"scores": [...]}`` (n numbers in 0..10) from its reply, or ModelError."""
    match = re.search(r"\{.*\}", text, re.S)
    try:
        value = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        value = None
    scores = value.get("scores") if isinstance(value, dict) else None
    if (
        not isinstance(scores, list)
        or len(scores) != n
        or not all(
            isinstance(s, (int, float)) and not isinstance(s, bool) and 0 <= s <= 10 for s in scores
        )
    ):
        raise ModelError(f"the judge did not answer with {n} scores in 0..10: {text[:200]!r}")
    return [float(s) for s in scores]


class _Judge:
    name = "judge"

    def __init__(self, client: Any) -> None:
        self.client = client

    def scores(
        self, question: str, answers: Sequence[Answer], traces: Sequence[Path]
    ) -> tuple[list[float | None], list[dict[str, Any]]]:
        from . import prompts

        prompt = prompts.render(
            "judge_bestof.j2",
            question=question,
            samples=[{"text": a.text, "references": _references(a)} for a in answers],
        )
        messages = [{"role": "user", "content": prompt}]
        error: ModelError | None = None
        for _ in range(2):  # a nonsense reply is asked again once
            reply = self.client.complete(messages).text
            try:
                found = parse_judge_scores(reply, len(answers))
            except ModelError as exc:
                error = exc
                continue
            scores: list[float | None] = list(found)
            return scores, [{"judge": s} for s in found]
        assert error is not None
        raise error

    def close(self) -> None:
        self.client.close()


# ------------------------------------------------------------------------------------- reward


class _Reward:
    name = "reward"

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        import httpx

        self.url = url
        self.client = httpx.Client(timeout=timeout)
        try:
            self._score({"question": "probe", "answer": "probe", "quotes": []}, probe=True)
        except BaseException:
            self.client.close()
            raise

    def _score(self, body: dict[str, Any], probe: bool = False) -> float:
        import httpx

        try:
            response = self.client.post(self.url, json=body)
            response.raise_for_status()
            value = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            what = "does not answer" if probe else "failed"
            error = ConfigError if probe else ModelError
            raise error(f"the reward endpoint {self.url} {what}: {exc}") from exc
        found = value.get("score") if isinstance(value, dict) else None
        if not isinstance(found, (int, float)) or isinstance(found, bool):
            error = ConfigError if probe else ModelError
            raise error(
                f"the reward endpoint {self.url} answered without a numeric 'score': "
                f"{str(value)[:200]!r}"
            )
        return float(found)

    def scores(
        self, question: str, answers: Sequence[Answer], traces: Sequence[Path]
    ) -> tuple[list[float | None], list[dict[str, Any]]]:
        out: list[float | None] = []
        for a in answers:
            quotes = [{"title": c.title, "url": c.url, "extract": c.quote} for c in a.citations]
            out.append(
                self._score({"question": question, "answer": a.text, "quotes": quotes})
                if a.text
                else None
            )
        return out, [{"reward": s} for s in out]

    def close(self) -> None:
        self.client.close()

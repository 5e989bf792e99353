"""Answer quality on a question set: accuracy and verbatim citations.

    python benchmarks/eval_dev.py [--corpus ZIM] [--questions JSONL] [--policy extractive]

An answer is correct when one of the gold answers appears in it, compared case- and
punctuation-insensitively. A citation is verbatim when its quote occurs in the text of the page
it cites, fetched and rendered afresh. Prints per-question lines and the totals.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from webqa import Session, verify_citations
from webqa.batch import is_correct
from webqa.corpus import open_corpus

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared/data/wikipedia_en_ray_charles_maxi_2019-08.zim"))
    parser.add_argument("--questions", default=str(ROOT.parent / "shared/data/dev-questions.jsonl"))
    parser.add_argument("--policy", default="extractive")
    parser.add_argument("--max-actions", type=int, default=100)
    args = parser.parse_args()
    corpus = open_corpus(args.corpus)
    session = Session(engine=corpus, source=corpus, policy=args.policy, trace=False,
                      max_actions=args.max_actions)
    rows = [json.loads(x) for x in open(args.questions, encoding="utf-8") if x.strip()]
    right = verbatim_answers = answered = cites = cites_ok = 0
    started = time.perf_counter()
    for row in rows:
        answer = session.ask(row["question"])
        ok = is_correct(answer.text, row["answers"])
        right += ok
        answered += answer.status == "answered"
        checks = verify_citations(answer, corpus)
        cites += len(checks)
        cites_ok += sum(c.verbatim for c in checks)
        verbatim_answers += bool(checks) and all(c.verbatim for c in checks)
        print(f"{row['id']} {'OK ' if ok else 'BAD'} {answer.status:<16} {row['answers'][0]!r:<30} "
              f"{answer.text[:90]!r}", flush=True)
    n = len(rows)
    print(f"\naccuracy {right}/{n} = {right / n:.1%}; answered {answered}/{n}; answers with all "
          f"citations verbatim {verbatim_answers}/{answered}; citations verbatim {cites_ok}/{cites}; "
          f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    sys.exit(main())

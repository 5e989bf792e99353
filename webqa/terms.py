"""Query analysis shared by search and relevance scoring: words, stopwords, stems, title phrases."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["STOPWORDS", "words", "tokens", "query_terms", "stem", "title_phrases"]

#: English function words and question words. They match almost every page, so keeping them
#: only slows an index down and, in an AND query, they cost matches for nothing.
STOPWORDS = frozenset(
    """
a about above according after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing done down during each either
else ever few for from further get got had has have having he her here hers herself him himself
his how however i if in into is it its itself just let me might more most much must my myself no
nor not now of off on once one only or other others our ours ourselves out over own per same she
should since so some such than that the their theirs them themselves then there these they this
those though through to too under until up upon us very via was we were what whatever when where
whether which while who whom whose why will with within without would yet you your yours
yourself yourselves
""".split()
)

# webqa splits text into words two ways, both here. Search splits at every punctuation mark,
# as SQLite's unicode61 tokenizer does, so a query's words are the index's words. Scoring a
# sentence keeps the dots, hyphens and apostrophes inside a word, so "sys.setswitchinterval",
# "3.11" and "Jean-Paul" stay one token each.
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r"[\w][\w'’.-]*[\w]|[\w]", re.U)


def words(text: str) -> list[str]:
    """The lower-cased words of ``text`` in order (letters and digits; punctuation splits)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` in order, as written, with inner dots, hyphens and apostrophes
    kept ("sys.setswitchinterval", "3.11", "Jean-Paul", "Ray's")."""
    return _TOKEN.findall(text)


def query_terms(text: str, limit: int = 12) -> list[str]:
    """Distinct content words of a query, in order, at most ``limit``.

    Stopwords and single letters are dropped, unless nothing else is left (a query such as
    "The Who" still needs its words).
    """
    all_words = list(dict.fromkeys(words(text)))
    content = [w for w in all_words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return (content or all_words)[:limit]


_VOWELS = frozenset("aeiouy")
# Plural "-es" is a suffix only after a sibilant ("boxes", "matches"); "timeslices" is
# "timeslice" + "s", and "-e" itself is dropped at the end, so both stem alike.
_ES_AFTER = ("s", "x", "z", "ch", "sh")


@lru_cache(maxsize=1 << 16)  # a page repeats its words: stemming each once is most of the win
def stem(word: str) -> str:
    """A light English stem for matching words against text: plural, -ing and -ed endings off,
    a final -e dropped, a doubled final consonant undoubled ("running" and "run" agree,
    "timeslices" and "timeslice" too). Words with a digit or of 3 letters or fewer are kept.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("es") and w[:-2].endswith(_ES_AFTER) and len(w) > 4:
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    elif w.endswith("ing") and len(w) > 5 and _VOWELS & set(w[:-3]):
        w = _undouble(w[:-3])
    elif w.endswith("ed") and len(w) > 4 and _VOWELS & set(w[:-2]):
        w = _undouble(w[:-2])
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    if w.endswith("our") and len(w) >= 6 and w[-4] not in _VOWELS:
        w = w[:-3] + "or"  # British spelling: "favoured" and "favored" agree
    return w


def _undouble(w: str) -> str:
    if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz" and w[-1] not in _VOWELS:
        return w[:-1]
    return w


# Words that may sit inside a capitalised title ("Ray Charles and Betty Carter").
_CONNECT = frozenset(
    "of the a an and in on to for at by with from is my you i me your & + =".split()
)
# Words that open a question rather than a title ("Which", "In the ...").
_LEAD = frozenset(
    "the a an in on which who what when where how why for after before "
    "during between apart according".split()
)
_QUOTED = re.compile(r'"([^"]{2,200})"')


def title_phrases(text: str, limit: int = 10) -> list[str]:
    """Phrases of a query that may be page titles: quoted strings and capitalised runs.

    "Who played on Ray Charles's 1956 single "Hallelujah I Love Her So"?" gives
    ``["Hallelujah I Love Her So", "Ray Charles"]``. Each run yields its prefixes that end on
    a capitalised word, longest first, so "Dedicated to You is a 1924 song" gives
    "Dedicated to You".
    """
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    out: list[str] = []
    seen: set[str] = set()

    def add(phrase: str) -> None:
        low = phrase.lower()
        if phrase and phrase not in seen and low not in _LEAD and low not in STOPWORDS:
            seen.add(phrase)
            out.append(phrase)

    for m in _QUOTED.finditer(text):
        if len(out) >= limit:
            return out
        add(m.group(1).strip(" ,.?!;:"))
    run: list[str] = []

    def flush() -> None:
        # Every prefix of a long run is a phrase: stop at ``limit`` so a run of n capitalised
        # words costs O(limit * n), not O(n^2).
        starts = [0, 1] if run and run[0].lower() in _LEAD else [0]
        for start in starts:
            for end in range(len(run), start, -1):
                if len(out) >= limit:
                    break
                last = run[end - 1]
                if last[0].isupper() or (last[0].isdigit() and end - start > 1):
                    add(" ".join(run[start:end]))
        run.clear()

    for token in text.split():
        word = token.strip(',.?!;:"()[]')
        possessive = word.endswith("'s")
        if possessive:
            word = word[:-2]
        if token.startswith('"'):
            flush()
        inner = bool(run) and (word.lower() in _CONNECT or word[:1].isdigit())
        if word and (word[0].isupper() or inner):
            if len(out) < limit:
                run.append(word)
        else:
            flush()
        if possessive or token[-1] in ',.?!;:"':
            flush()
    flush()
    return out

"""How well a passage answers a question, without a model: the extractive policy's judgement.

A page is first put back into its blocks (paragraphs, list items, table rows, code, headings):
the renderer wraps a block's text over several lines, and a line is a wrapped one exactly when
the next line's first word would not have fitted on it. Each block is cut into sentences, and
the candidates to quote (:class:`Unit`) are single sentences, a sentence with its neighbour,
a table row, a definition's term with the first sentence of its description, and short code
lines. A candidate never ends inside a sentence, list item or table cell.

A unit's score is the share of the question's term weight it covers, where a term weighs by
its rarity among the page's units (idf). Terms of the page title, of the section heading and of
the label the unit describes (a parameter, a signature, an infobox field) count mostly as
covered: the question names the topic, and the sentence holding the answer need not repeat it.
Units holding the kind of thing asked for (a date, a quantity in the unit asked about, a
version, an exception or identifier, a name) get a bonus; units that add nothing beyond the
question's own words, say the opposite ("last" for "first"), or are about another named thing
than the question's get a penalty.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ..render.layout import MARKER_RE
from ..terms import STOPWORDS, stem, tokens

__all__ = [
    "terms",
    "keywords",
    "units",
    "sentences",
    "answer_kind",
    "Scorer",
    "Unit",
    "page_units",
    "novel_names",
]

# Question words on top of the shared stop words: they say what is asked, not what to find.
_STOP = STOPWORDS | frozenset(
    "name named called many much kind type tell give find list known s".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“‘(])")
_BOUNDARY = re.compile(r"([.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")
# Short words that end in a period without ending a sentence ("No. 1", "J. Illiger").
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof vs etc no nos vol e.g i.e cf approx fig inc ltd co mt gen col "
    "lt sgt rev u.s u.k op ed eds al ca c".split()
)
_IMAGE = re.compile(r"\s*\[Image: [^\]]*\]\s*")
_LIST_START = re.compile(r"(?:• |\d+\. |> )")
_TOKEN = re.compile(r"(?:【[^】]*】|\S)+")
_YEAR = re.compile(r"\b1[0-9]{3}\b|\b20[0-9]{2}\b")
_MONTH = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|"
    r"October|November|December)\b"
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|"
    r"billion)\b",
    re.I,
)
_MONEY = re.compile(r"[$£€]\s?\d|\b\d[\d,.]*\s*(dollars|cents|pounds)\b", re.I)
_NUM = r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred)"
# A number, then its unit, perhaps after one word ("243 Earth days", "5 more seconds").
_UNIT = _NUM + r"\s*(?:[-–]\s*)?(?:[A-Za-z]+\s+)?"
_TIME_UNITS = (
    r"(?:seconds?|secs?|s\b|milliseconds?|ms\b|microseconds?|minutes?|hours?|days?|"
    r"weeks?|months?|years?|sols?)"
)
_SIZE_UNITS = (
    r"(?:km|kilomet|metres?|meters?|m\b|miles?|feet|foot|ft\b|inch|au\b|light|"
    r"bytes?|bits?|[kKMGT]i?B\b|kilobytes?|megabytes?|characters?|digits?|"
    r"items?|elements?|entries|lines?|times|x\b)"
)
_MEASURES = [
    (
        re.compile(r"\bhow (long|old)\b|\bwhat age\b", re.I),
        re.compile(
            _UNIT + r"(?:" + _TIME_UNITS + r"|km|kilomet|metres?|meters?|miles?|feet|foot|"
            r"inch|characters?|items?|bytes?)",
            re.I,
        ),
    ),
    (
        re.compile(
            r"\bhow (far|tall|high|deep|big|large|wide|small)\b|\bwhat (size|length)\b", re.I
        ),
        re.compile(_UNIT + _SIZE_UNITS, re.I),
    ),
    (
        re.compile(r"\bhow much\b", re.I),
        re.compile(
            r"[$£€]\s?\d|" + _UNIT + r"(?:dollars|cents|pounds|percent|%|kg|tonnes?|tons?|"
            r"bytes?|[kKMGT]i?B\b)",
            re.I,
        ),
    ),
]
_CAPITALISED = re.compile(r"\b[A-Z][\w&'’.-]+")
_PERSON_NOUNS = (
    "singer|vocalist|actress|actor|photographer|producer|musician|guitarist|pianist|songwriter|"
    "writer|author|artist|person|man|woman|group|band|player|drummer|saxophonist|trumpeter|"
    "director|composer|arranger|engineer|lyricist|performer|duo|trio|quartet|choir|scientist|"
    "astronomer|inventor|king|queen|president|leader|founder|mathematician|physicist|chemist|"
    "philosopher|architect|explorer|emperor|ruler|father|mother|son|daughter|wife|husband"
)
_CODE_NOUNS = (
    "constant|function|method|class|option|flag|attribute|module|command|argument|parameter|"
    "variable|package|system call|format|keyword|field|setting|directive|macro|type|hook|"
    "property|operator|statement|extension|file|library|tool|header|key|event|signal|mode"
)
_ASKS = [
    (
        "version",
        re.compile(
            r"\b(since|in|from|as of|until) (which|what) (\w+ ){0,2}"
            r"(version|release)\b|\b(which|what) (\w+ ){0,2}(version|release)\b"
        ),
    ),
    (
        "message",
        re.compile(
            r"\bwhat (does|did|do) (\w+ ){0,6}(message|error|warning|output|"
            r"print|prints|show|shows|say|says)\b|\bwhat (message|text)\b"
        ),
    ),
    ("date", re.compile(r"\b(when|what year|which year|what date|which date|what day)\b")),
    ("error", re.compile(r"\b(which|what) (\w+ ){0,2}(exception|error|warning)s?\b")),
    (
        "number",
        re.compile(
            r"\bhow (many|much|old|long|far|tall|big|large|high|hot|cold|fast|"
            r"small|deep|wide|heavy)\b|"
            r"\bwhat (\w+ ){0,2}(number|percentage|position|rank|age|temperature|"
            r"size|length|value|port|speedup|period|limit|timeout)\b|"
            r"\bwhich (port|number|value)\b|\bat (least|most) what\b|"
            r"\bwhat is (the )?(largest|smallest|lowest|highest|maximum|minimum|"
            r"default|longest|shortest) \w+|\bwhat is n\b|\bmultiple of what\b"
        ),
    ),
    (
        "person",
        re.compile(r"\b(who|whom|whose)\b|\b(which|what) (\w+ ){0,2}(" + _PERSON_NOUNS + r")s?\b"),
    ),
    ("code", re.compile(r"\b(which|what) (\w+ ){0,3}(" + _CODE_NOUNS + r")s?\b")),
    ("entity", re.compile(r"\b(which|what|where)\b")),
]
_VERSION = re.compile(
    r"\b(?:new|added|changed|deprecated|removed|introduced|available) "
    r"(?:in|since) (?:version |python |release )?v?\d+(?:\.\d+)*|"
    r"\bversion \d+(?:\.\d+)+|"
    r"\bsince (?:version |python |release )?v?\d+(?:\.\d+)+|"
    r"\b(?:python|release) \d+\.\d+",
    re.I,
)
_ERROR_NAME = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt)\b")
_QUOTED_TEXT = re.compile(r"[\"“'‘`][^\"“”'‘’`]{2,80}[\"”'’`]")
_IDENTIFIER = re.compile(
    r"(?<![\w.])(?:[A-Za-z_][\w]*\.)+[A-Za-z_]\w*(?:\(\))?|"
    r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b[A-Z]{3,}[0-9]*\b|"
    r"(?<![\w-])--?[a-z][\w-]+|\b[a-z_]\w*_\w+\b|\b[a-z]\w*\(\)|"
    r"\b[a-z]+[A-Z]\w*\b|\b[A-Z][a-z]+[A-Z]\w*\b"
)
_DEFAULT = re.compile(r"\bdefault", re.I)
_DEFINITION = re.compile(r"^[^.;]{0,150}?\b(?:is|was|are|were)\s+(?:a|an|the|one)\b")
#: Words asking for one end of a scale, and the other end, which contradicts them.
_OPPOSITES = {
    "first": "last",
    "last": "first",
    "largest": "smallest",
    "smallest": "largest",
    "biggest": "smallest",
    "highest": "lowest",
    "lowest": "highest",
    "maximum": "minimum",
    "minimum": "maximum",
    "most": "least",
    "least": "most",
    "oldest": "youngest",
    "youngest": "oldest",
    "earliest": "latest",
    "latest": "earliest",
    "longest": "shortest",
    "shortest": "longest",
    "max": "min",
    "min": "max",
    "upper": "lower",
    "lower": "upper",
}


def terms(text: str) -> list[str]:
    """Content words of ``text``: lower case, stop words dropped, lightly stemmed."""
    return [t for t in map(_term, tokens(text.lower().replace("’", "'"))) if t is not None]


@lru_cache(maxsize=1 << 16)  # a page repeats its words: each token is looked at once
def _term(token: str) -> str | None:
    """The term of one lower-cased token, None for a stop word."""
    word = token.strip(".'-").removesuffix("'s")
    return stem(word) if word and word not in _STOP else None


@lru_cache(maxsize=1 << 15)
def termset(text: str) -> frozenset[str]:
    """The distinct :func:`terms` of ``text`` (cached: a page scores each sentence often)."""
    return frozenset(terms(text))


def unit_terms(unit: Unit) -> frozenset[str]:
    """:func:`termset` of ``unit.text``, from its sentences' cached sets when the text is
    just those sentences joined (a window of two): no token spans the space between them."""
    if len(unit.parts) > 1 and " ".join(unit.parts) == unit.text:
        return frozenset().union(*map(termset, unit.parts))
    return termset(unit.text)


def keywords(question: str, limit: int = 8) -> str:
    """A keyword query for a question: its content words, in order, without repeats."""
    seen: list[str] = []
    for word in tokens(question):
        w = word.strip(".'’-").removesuffix("'s").removesuffix("’s")
        if w and w.lower() not in _STOP and w.lower() not in (s.lower() for s in seen):
            seen.append(w)
    return " ".join(seen[:limit]) or question


def sentences(text: str) -> list[str]:
    """The sentences of a block's text: split at ., ! or ? before a capital or digit, except
    after abbreviations and initials ("No. 1", "J. Illiger")."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        word = (
            text[start : m.start() + 1].rsplit(None, 1)[-1]
            if text[start : m.start()].strip()
            else ""
        )
        bare = word.rstrip(".").lower().lstrip("(\"'“‘")
        if (
            m.group(1) == "."
            and not m.group(2)
            and (bare in _ABBREVIATIONS or (len(bare) == 1 and bare.isalpha()))
        ):
            continue
        piece = text[start : m.start() + len(m.group(1)) + len(m.group(2))].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


@dataclass(frozen=True)
class Unit:
    """A candidate quote: verbatim page text, its sentences, and what it is about.

    ``context`` is the section heading and the label the unit describes (a definition's term,
    a parameter name, a signature); ``first``/``last`` are its page lines.
    """

    text: str
    parts: tuple[str, ...]
    context: str
    first: int
    last: int
    kind: str = "text"


@dataclass
class _Block:
    kind: str  # text, item, row, code, head
    parts: list[str]
    first: int
    last: int

    @property
    def text(self) -> str:
        return " ".join(self.parts)


def _plain(raw: str) -> str:
    return MARKER_RE.sub(lambda m: m.group(2), raw)


def _blocks(lines: list[str]) -> list[_Block]:
    """The page's blocks, each the lines the renderer wrapped it over, joined again."""
    width = max(map(len, lines), default=0)
    out: list[_Block] = []
    cur: _Block | None = None
    code = False
    for i, raw in enumerate(lines):
        line = _plain(raw).strip()
        if line.startswith("```"):
            cur, code = None, not code
            continue
        if code:
            if line:
                out.append(_Block("code", [line], i, i))
            continue
        if not line:
            cur = None
            continue
        if line.startswith("#"):
            cur = None
            out.append(_Block("head", [line.lstrip("#").strip()], i, i))
            continue
        item = _LIST_START.match(line) is not None
        # "1867. It rapidly..." after a full line is the wrapped rest of a sentence, not item
        # 1867 of a numbered list: only a bullet always starts a new block.
        numbered = item and not line.startswith(("• ", "> "))
        if cur is not None and (not item or numbered) and cur.last == i - 1 and cur.kind != "head":
            first_word = _TOKEN.match(raw.lstrip())
            if len(lines[i - 1]) + 1 + len(first_word.group() if first_word else "") > width:
                cur.parts.append(line)
                cur.last = i
                continue
        item = item and not (
            numbered and cur is not None and cur.last == i - 1 and len(lines[i - 1]) >= width - 1
        )
        if item:
            line = line[2:].strip() if line.startswith(("• ", "> ")) else line
        cur = _Block("item" if item else "row" if " | " in line else "text", [line], i, i)
        out.append(cur)
    return out


def _is_label(block: _Block) -> bool:
    # A definition's term, a signature, an infobox field: short, and not a sentence.
    text = block.text
    return (
        block.kind == "text"
        and len(text) <= 200
        and block.last - block.first <= 2
        and not text.endswith((".", "!", "?", ":", ";", ","))
        and len(sentences(text)) == 1
    )


_ITEM_LABEL = re.compile(r"^(.{1,60}?)\s+[–—-]\s+|^(.{1,40}?):\s+")

#: The longest text one unit may hold (two sentences of a wordy page can exceed it).
MAX_UNIT_CHARS = 600

#: A paragraph or list item of at most this many sentences is also a unit as a whole.
MAX_PARTS = 5

#: The shortest unit worth quoting: fewer words than this is a label, not a statement.
MIN_WORDS = 4


def page_units(lines: list[str]) -> list[Unit]:
    """Every candidate quote of a page, in page order (see the module docstring)."""
    out: list[Unit] = []
    section = ""
    label = described = ""
    label_end = -2
    prev: list[tuple[str, int, int]] = []  # the run of sentences a window may join
    prev_end = -2
    blocks = _blocks(lines)
    for n, block in enumerate(blocks):
        if block.kind == "head":
            section, label, described, prev = block.text, "", "", []
            continue
        if block.kind == "code":
            text = block.text
            if len(text) >= 15 and len(text) <= 300:
                out.append(
                    Unit(text, (text,), f"{section} {label}", block.first, block.last, "code")
                )
            prev = []
            continue
        if block.kind == "row":
            out.append(Unit(block.text, (block.text,), section, block.first, block.last, "row"))
            prev = []
            continue
        nxt = blocks[n + 1] if n + 1 < len(blocks) else None
        if (
            _is_label(block)
            and nxt is not None
            and nxt.first == block.last + 1
            and nxt.kind == "text"
        ):
            label = block.text
            first = sentences(_IMAGE.sub(" ", nxt.text))
            # What the definition says first is what its later notes ("New in version 3.9.",
            # "The default is 5.") are about, though they do not repeat it.
            described = first[0] if first else ""
            if first and len(label) + len(first[0]) < MAX_UNIT_CHARS:
                out.append(
                    Unit(
                        f"{label} {first[0]}",
                        (label, first[0]),
                        section,
                        block.first,
                        nxt.last,
                        "term",
                    )
                )
            if len(label.split()) >= MIN_WORDS:
                out.append(Unit(label, (label,), section, block.first, block.last, "label"))
            label_end = block.last
            prev = []
            continue
        item_label = ""
        if block.kind == "item":
            m = _ITEM_LABEL.match(block.text)
            item_label = (m.group(1) or m.group(2) or "") if m else ""
        if block.first != prev_end + 1 or block.kind == "item":
            prev = []
        context = (
            f"{section} {label} {described if block.first > label_end + 1 else ''} {item_label}"
        )
        for piece in _IMAGE.split(block.text):
            if not piece.strip():
                continue
            found = sentences(piece)
            if 2 < len(found) <= MAX_PARTS and len(piece) <= MAX_UNIT_CHARS:
                # A short paragraph or list item whole: its answer may sit two sentences
                # from the one that names what it is about ("... The default is 5 seconds.").
                out.append(
                    Unit(piece.strip(), tuple(found), context, block.first, block.last, block.kind)
                )
            for sentence in found:
                out.append(
                    Unit(sentence, (sentence,), context, block.first, block.last, block.kind)
                )
                if prev:
                    before = prev[-1][0]
                    joined = f"{before} {sentence}"
                    if len(joined) <= MAX_UNIT_CHARS:
                        out.append(
                            Unit(
                                joined,
                                (before, sentence),
                                context,
                                prev[-1][1],
                                block.last,
                                block.kind,
                            )
                        )
                prev = [(sentence, block.first, block.last)]
            prev = [] if _IMAGE.search(block.text) else prev
        prev_end = block.last
    return [u for u in out if len(u.text) >= 15 and len(u.text.split()) >= MIN_WORDS]


def units(lines: list[str]) -> list[str]:
    """Sentences of prose and whole table rows / list items, in page order (no windows)."""
    return [u.text for u in page_units(lines) if len(u.parts) == 1]


# What a page calls the quantity a "how ..." question asks about ("how far" → distance).
_MEASURE_WORDS = {
    "far": "distance",
    "tall": "height",
    "high": "height",
    "deep": "depth",
    "old": "age",
    "long": "length",
    "big": "size",
    "large": "size",
    "wide": "width",
    "heavy": "mass",
    "hot": "temperature",
    "cold": "temperature",
    "fast": "speed",
    "many": "number",
}
_HOW = re.compile(r"\bhow (" + "|".join(_MEASURE_WORDS) + r")\b", re.I)


def _measure_terms(question: str) -> set[str]:
    return {stem(_MEASURE_WORDS[m.group(1).lower()]) for m in _HOW.finditer(question)}


# "When Python works out ..., what number ...": a leading clause sets a condition.
_LEADING_CLAUSE = re.compile(
    r"^(?:when|if|since|after|before|while|on|in|for|as of|once)\b"
    r"[^,?]{0,200},\s*",
    re.I,
)


def answer_kind(question: str) -> str:
    """What the question asks for: version, date, error, message, number, person, code,
    entity or other.

    The question's last sentence asks (the others set the scene), less a leading clause
    ("Since Python 3.10, what does ..."); of the cues it holds, the first one wins.
    """
    parts = [x for x in _SENTENCE_END.split(question.strip()) if x.strip()]
    for text in (parts[-1] if parts else question, question):
        q = _LEADING_CLAUSE.sub("", text.lower().strip())
        found = [
            (m.start(), i, kind)
            for i, (kind, pattern) in enumerate(_ASKS)
            if (m := pattern.search(q))
        ]
        if found:
            return min(found)[2]
    return "other"


_CALENDAR = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
_NAME_JOINERS = frozenset("de da di del der van von la le bin ibn al of and &".split())
_NAME_TOKEN = re.compile(r"[\w&'’.-]+")


def _name_runs(unit: str) -> list[list[str]]:
    """Runs of capitalised words ("Kenneth Lee Karpe", "WAOK"); a sentence's first word
    counts only when it is no function word ("The", "In")."""
    runs: list[list[str]] = []
    run: list[str] = []
    for i, m in enumerate(_NAME_TOKEN.finditer(unit)):
        word = m.group().strip(".,'’")
        low = word.lower()
        upper = word[:1].isupper() and low not in _CALENDAR
        if upper and i == 0 and low in _STOP:
            upper = False
        if upper and low.replace("’", "'").endswith("'s"):
            run.append(word)  # a possessive ends a name: "China's Chang'e" is two
            runs.append(run)
            run = []
        elif upper or (run and low in _NAME_JOINERS):
            run.append(word)
        else:
            if run:
                runs.append(run)
            run = []
    if run:
        runs.append(run)
    for r in runs:
        while r and r[-1].lower() in _NAME_JOINERS:
            r.pop()
    return [r for r in runs if r]


def _bare(word: str) -> str:
    low = word.lower().replace("’", "'").strip(".,'")
    return low.removesuffix("'s")


def _novel_names(unit: str, question: str, *, people: bool = False) -> int:
    """How many name runs of ``unit`` the question does not hold; ``people``: only runs of
    two words or more, or a word in capitals (a person's name, a call sign)."""
    asked = {_bare(w) for w in _NAME_TOKEN.findall(question)}
    count = 0
    for run in _name_runs(unit):
        words = [w for w in run if w.lower() not in _NAME_JOINERS]
        if not any(_bare(w) not in asked for w in words):
            continue
        if people and len(words) < 2 and not (words and words[0].isupper() and len(words[0]) > 2):
            continue
        count += 1
    return count


def novel_names(text: str, question: str) -> set[str]:
    """The capitalised names in ``text`` that the question does not use, as terms: what a
    passage can lead on to ("... using ideas of Bernhard Riemann" → riemann, bernhard)."""
    asked = set(terms(question))
    found: set[str] = set()
    for m in _CAPITALISED.finditer(text):
        if m.start() == 0:
            continue  # a sentence's first word is capitalised whatever it is
        found.update(t for t in terms(m.group()) if t not in asked and len(t) > 2)
    return found


def _novel(pattern: re.Pattern[str], unit: str, question: str) -> bool:
    q = question.lower()
    return any(m.group().lower().strip(".,") not in q for m in pattern.finditer(unit))


def _numbers(text: str) -> set[str]:
    return {m.group().lower().strip(".,") for m in _NUMBER.finditer(text)}


@lru_cache(maxsize=64)
def _asked_numbers(question: str) -> frozenset[str]:
    """:func:`_numbers` of a question, once: every unit of every page is compared with it."""
    return frozenset(_numbers(question))


def _kind_bonus(kind: str, unit: str, question: str) -> float:
    if kind == "version":
        return STRONG_CUE if _novel(_VERSION, unit, question) else 0.0
    if kind == "date":
        return 0.2 if (_novel(_YEAR, unit, question) or _MONTH.search(unit)) else 0.0
    if kind == "error":
        return STRONG_CUE if _novel(_ERROR_NAME, unit, question) else 0.0
    if kind == "message":
        return 0.2 if _novel(_QUOTED_TEXT, unit, question) else 0.0
    if kind == "number":
        # A number the question itself gives ("in Python 3.11") is not an answer to it.
        if not (_numbers(unit) - _asked_numbers(question) or _MONEY.search(unit)):
            return 0.0
        # "How long/far/old/much..." asks for a quantity in units: a number with one fits best.
        measure = next((m for asked, m in _MEASURES if asked.search(question)), None)
        bonus = (
            (0.2 if measure is None else STRONG_CUE)
            if measure is None or measure.search(unit)
            else 0.1
        )
        if _DEFAULT.search(question) and _DEFAULT.search(unit):
            bonus += 0.05
        return bonus
    if kind == "code":
        bonus = 0.2 if _novel(_IDENTIFIER, unit, question) else 0.0
        return bonus + (0.05 if _DEFAULT.search(question) and _DEFAULT.search(unit) else 0.0)
    if kind == "person":
        return (
            0.25
            if _novel_names(unit, question, people=True)
            else (0.1 if _novel_names(unit, question) else 0.0)
        )
    if kind == "entity":
        return 0.2 if _novel_names(unit, question) else 0.0
    return 0.0


#: Bonus for a unit holding exactly the kind of value asked for (a version, an exception's
#: name, a quantity in the unit asked about): without one, a unit cannot answer.
STRONG_CUE = 0.3


def _names(question: str) -> set[str]:
    """Terms of what the question is about: capitalised names and identifiers in it."""
    found: set[str] = set()
    for i, m in enumerate(re.finditer(r"[\w][\w.()_'’-]*", question)):
        word = m.group().strip(".'’()").removesuffix("'s").removesuffix("’s")
        ident = bool(re.search(r"[._]|\w\(|[a-z][A-Z]|[a-z]\d", word))
        if (i > 0 and word[:1].isupper()) or ident:
            found.update(terms(word))
    return found


# Where a list or a table row divides into items (a cell, a "; " item).
_SEGMENT = re.compile(r" \| |; ")

#: Weight of the terms of a question's last sentence, when it has several.
FOCUS = 3.0

#: Lines shorter than this were not wrapped: their block ended there.
SHORT_LINE = 60

#: How much of a question term's weight a unit earns when only its page title holds the term.
TITLE_CREDIT = 0.75

#: The same for the unit's section heading and the label it describes.
CONTEXT_CREDIT = 0.6

#: A unit about none of the things the question names keeps this share of its score.
OFF_TOPIC = 0.7

#: A unit that is a list (of names, of short cells) rather than a statement keeps this share.
LIST_SHARE = 0.5

#: Bonus for a table row whose first cell holds a question term.
ROW_KEY = 0.1

#: A unit saying the other end of a scale ("last" for "first") keeps this share of its score.
OPPOSITE = 0.5

#: Cost of each sentence a unit holds beyond its first: a window must cover more to win.
EXTRA_SENTENCE = 0.02


class Scorer:
    """Scores units for one question; document frequencies grow with every page it reads."""

    def __init__(self, question: str, *, skip: Iterable[str] = ()) -> None:
        """``skip``: question terms already answered elsewhere (a first hop's unit)."""
        self.question = question
        skipped = set(skip)
        # "How long/far/big" asks for a measure: the page says "length" or a number with a
        # unit, not "long" (a sentence that happens to say "long" is no closer).
        how = {stem(m.group(1).lower()) for m in _HOW.finditer(question)}
        self.q_terms = ((set(terms(question)) - how) | _measure_terms(question)) - skipped
        #: The terms that say what the question is about, not what kind of answer it wants.
        self.content = self.q_terms - _measure_terms(question)
        # In a question of several sentences the last one asks; the others set the scene
        # ("... an album opens with a song written in 1951. Who first recorded that song?").
        # So does a leading clause ("After he performed it in 1979, on what date did ...").
        parts = [x for x in _SENTENCE_END.split(question.strip()) if x.strip()]
        asking = _LEADING_CLAUSE.sub("", parts[-1].strip()) if parts else ""
        self.focus = (
            set(terms(asking)) | _measure_terms(asking)
            if len(parts) > 1 or (parts and asking != parts[-1].strip())
            else set()
        )
        self.kind = answer_kind(question)
        self.names = _names(question) - skipped
        self.scale = {w for w in re.findall(r"[a-z]+", question.lower()) if w in _OPPOSITES}
        self.df: Counter[str] = Counter()
        self.n = 0

    def read(self, page_units: Iterable[str]) -> list[set[str]]:
        """Count a page's units into the frequencies; return their term sets."""
        tokenised = [set(terms(u)) for u in page_units]
        self.df.update(t for toks in tokenised for t in toks)
        self.n += len(tokenised)
        return tokenised

    def weights(self, df: Counter[str] | None = None, n: int | None = None) -> dict[str, float]:
        """Each question term's weight: its idf among the units counted, more in the focus."""
        df, n = (df, n) if df is not None and n is not None else (self.df, self.n)
        return {
            t: math.log((n + 1) / (df.get(t, 0) + 0.5)) * (FOCUS if t in self.focus else 1.0)
            for t in self.q_terms
        }

    def coverage(self, toks: set[str], about: set[str], weight: dict[str, float]) -> float:
        """The share of the question's weight that ``toks`` hold (``about``: partly)."""
        matched = sum(w for t, w in weight.items() if t in toks)
        if not matched:
            return 0.0
        matched += TITLE_CREDIT * sum(w for t, w in weight.items() if t in about - toks)
        return matched / (sum(weight.values()) or 1.0)

    def score(
        self,
        unit: str,
        toks: set[str],
        title: str,
        df: Counter[str] | None = None,
        n: int | None = None,
        *,
        context: str = "",
        parts: int = 1,
        weight: dict[str, float] | None = None,
        whole: str = "",
        context_terms: frozenset[str] | None = None,
    ) -> float:
        """The unit's score (see the module docstring); ``df``/``n`` default to all pages read.

        ``context``: the unit's heading and label (``context_terms``: its terms, when the
        caller has them already); ``parts``: how many sentences it holds;
        ``weight``: the :meth:`weights` for ``df``/``n``, when the caller has them already;
        ``whole``: the unit ``unit`` is a sentence of, whose shape (a list, a label) counts.
        """
        if weight is None:
            weight = self.weights(df, n)
        matched = sum(w for t, w in weight.items() if t in toks)
        if not matched:
            return 0.0
        title_terms = termset(title)
        if context_terms is None:
            context_terms = termset(context)
        # A sentence on a page is about the page's topic even when it does not name it.
        matched += TITLE_CREDIT * sum(w for t, w in weight.items() if t in title_terms - toks)
        matched += CONTEXT_CREDIT * sum(
            w for t, w in weight.items() if t in context_terms - title_terms - toks
        )
        score = matched / (sum(weight.values()) or 1.0) + _kind_bonus(
            self.kind, unit, self.question
        )
        if len(toks - self.q_terms - title_terms) < 2:
            score -= 0.2  # restates the question or the title: no answer in it
        shape = whole or unit
        segments = _SEGMENT.split(shape)
        listed = len(segments) >= 3 and len(shape.split()) / len(segments) <= 7
        if len(shape.split()) < 6:
            score -= 0.1  # a label or a caption, not a statement
        if len(unit) > 300:
            score -= 0.1
        score -= EXTRA_SENTENCE * (parts - 1)
        if " | " in unit:
            # A table row is about what its first cell names ("Solar day | about 117 days").
            key = unit.split(" | ", 1)[0]
            if termset(key.split(": ", 1)[-1]) & self.q_terms:
                score += ROW_KEY
        if self.scale:
            words = set(re.findall(r"[a-z]+", unit.lower()))
            if any(_OPPOSITES[w] in words and w not in words for w in self.scale):
                score *= OPPOSITE  # "the last person to walk on the Moon" for "the first"
        if self.names and not (self.names & (toks | title_terms | context_terms)):
            score *= OFF_TOPIC
        if listed:
            score *= LIST_SHARE  # a list of names or cells states nothing about them
        return score

    def _unit_score(
        self,
        unit: Unit,
        title: str,
        df: Counter[str] | None = None,
        n: int | None = None,
        weight: dict[str, float] | None = None,
    ) -> tuple[float, int]:
        """A unit's score and its lead sentence: a window scores as its best sentence read
        with the other one as context, less the cost of the extra sentence."""
        weight = self.weights(df, n) if weight is None else weight
        if len(unit.parts) == 1 or unit.kind == "term":  # a term and its definition: one
            return self.score(
                unit.text,
                set(termset(unit.text)),
                title,
                context=unit.context,
                parts=len(unit.parts),
                weight=weight,
            ), 0
        if len(unit.parts) == 1:
            return self.score(
                unit.text, set(termset(unit.text)), title, context=unit.context, weight=weight
            ), 0
        best, lead = 0.0, 0
        # The terms of "context + the other sentences", from the cached terms of each (no
        # token spans the space between them): windows share their sentences.
        part_terms = [termset(p) for p in unit.parts]
        around = termset(unit.context)
        for i, part in enumerate(unit.parts):
            s = self.score(
                part,
                set(part_terms[i]),
                title,
                parts=len(unit.parts),
                weight=weight,
                whole=unit.text,
                context_terms=around.union(*(t for j, t in enumerate(part_terms) if j != i)),
            )
            if s > best + 1e-9:
                best, lead = s, i
        return best, lead

    def cue(self, text: str) -> float:
        """The bonus ``text`` earns for holding the kind of thing the question asks for."""
        return _kind_bonus(self.kind, text, self.question)

    def rest(self, text: str, title: str, context: str = "") -> float:
        """How much of the question's content terms ``text`` covers (title and context
        partly), without cues or penalties: for scoring a second page on what the first one
        left open (a scorer made with ``skip``)."""
        if not self.content:
            return 0.0
        weight = {t: w for t, w in self.weights().items() if t in self.content}
        return self.coverage(set(termset(text)), set(termset(f"{title} {context}")), weight)

    def unit_score(self, unit: Unit, title: str) -> float:
        """A unit's score against the frequencies of all pages read so far."""
        return self._unit_score(unit, title)[0]

    def rank_units(self, title: str, lines: list[str]) -> list[tuple[float, Unit]]:
        """A page's units scored with the page's own frequencies, best first."""
        found = page_units(lines)
        # Frequencies count each sentence once: windows repeat their sentences.
        local: Counter[str] = Counter()
        for u in found:
            if len(u.parts) == 1:
                local.update(termset(u.text))
        count = sum(1 for u in found if len(u.parts) == 1)
        self.df.update(local)
        self.n += count
        weight = self.weights(local, count)
        # Only a unit holding a question term can score: the rest are skipped unscored.
        wanted = frozenset(self.q_terms)
        scored = [
            (self._unit_score(u, title, weight=weight)[0], u)
            for u in found
            if wanted & unit_terms(u)
        ]
        return sorted((s for s in scored if s[0] > 0), key=lambda s: -s[0])

    def rank_page(self, title: str, lines: list[str]) -> list[tuple[float, str]]:
        """A page's units as text, scored with the page's own frequencies, best first."""
        return [(s, u.text) for s, u in self.rank_units(title, lines)]

    def lead(self, unit: Unit, title: str) -> int:
        """Which of a unit's sentences best answers the question (its index in ``parts``)."""
        if unit.kind == "term":
            return 0  # a term and its definition read as one statement
        cued = [
            i
            for i, part in enumerate(unit.parts)
            if _kind_bonus(self.kind, part, self.question) > 0
        ]
        if len(cued) == 1:
            return cued[0]  # only one sentence holds the kind of thing asked for
        best = self._unit_score(unit, title)[1]
        if best == 0 and _DEFINITION.match(unit.parts[0]) and len(cued) > 1:
            # "X is a 1969 album by ..." restates what the question says of X; the sentence
            # after it tells the thing asked.
            rest = Unit(
                unit.text,
                unit.parts[1:],
                f"{unit.context} {unit.parts[0]}",
                unit.first,
                unit.last,
                unit.kind,
            )
            return 1 + self._unit_score(rest, title)[1]
        return best

"""Ranked, typo-tolerant lookup in the search index (:mod:`kg.search.index`): what ``/search`` and
``kg search`` answer.

The text people type is never handed to FTS5 as query syntax: it is split into words (:func:`kg.search.index.tokens`,
so quotes, ``*``, ``NEAR``, ``AND``, ``-``, ``:`` and brackets are just separators or plain words), and each
word is quoted. Work is bounded before anything runs (issue 16): at most :data:`MAX_QUERY` characters
(longer is refused), the first :data:`MAX_WORDS` words of at most :data:`MAX_WORD` characters, at most
:data:`MAX_LIMIT` results, and a deadline (:data:`DEADLINE` seconds of SQLite work, checked by a progress handler).

Ranking, best first (each tier only adds resources not already found):

1. **exact name** — the whole text equals a label, alternative name or acronym (``CQC``, ``HMIP``: both bodies);
2. **name prefix** — a label, alternative name or acronym starts with the text;
3. **label words** — every word in the label or names (the last word as a prefix), by bm25;
4. **all words** — every word anywhere (clause texts, definitions, context), by bm25;
5. **some words** — any word (common words such as "of" left out), by bm25.

Within a tier, equal scores go to the kind people look for most (:data:`kg.search.index.KIND_ORDER`).

Typo tolerance: a word that is not in the index's vocabulary (nor, for the last word, the start of one) is
replaced by up to three close vocabulary words, found through the trigram table and kept when
:class:`difflib.SequenceMatcher` rates them at least :data:`CLOSE`: "Ofstead" finds Ofsted, "Harmondsworht"
Harmondsworth. The corrected text is reported (``corrected``). Matches are highlighted with FTS5's
``highlight()`` and ``snippet()`` and turned into HTML with every other character escaped.
"""

from __future__ import annotations

import difflib
import html
import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

from kg.search.index import FORMAT, KIND_ORDER, tokens

__all__ = ["MAX_QUERY", "MAX_WORDS", "MAX_WORD", "MAX_LIMIT", "DEADLINE", "CLOSE", "SearchError", "IndexMissing",
           "SearchTimeout", "Hit", "Results", "search", "mark_html", "results_table"]

MAX_QUERY = 200
MAX_WORDS = 8
MAX_WORD = 40
MAX_LIMIT = 50
DEADLINE = 2.0
CLOSE = 0.75
#: Words left out of the "some words" tier (they match nearly everything).
STOP = frozenset({"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "s", "the", "to", "with"})
#: bm25 weights of the columns label, names, aliases, body, context.
WEIGHTS = (10.0, 8.0, 8.0, 1.0, 2.0)
#: How much a kind earlier in :data:`kg.search.index.KIND_ORDER` scales its bm25 score (per place in the order).
KIND_BOOST = 0.04
_OPEN, _CLOSE_MARK = "\x01", "\x02"
TIERS = ("exact name", "name prefix", "label words", "all words", "some words")


class SearchError(ValueError):
    """The text cannot be searched (empty, too long): a 400 for clients."""


class IndexMissing(RuntimeError):
    """No search index (a build from before the index, or a server on an external store)."""


class SearchTimeout(RuntimeError):
    """The lookup ran past :data:`DEADLINE`."""


@dataclass
class Hit:
    iri: str
    label: str
    kind: str
    names: list[str]
    match: str                 # one of TIERS
    label_html: str
    snippet: str               # plain text, may be empty
    snippet_html: str
    parent: Optional[str] = None
    parent_label: Optional[str] = None
    score: float = 0.0


@dataclass
class Results:
    query: str
    hits: list[Hit] = field(default_factory=list)
    corrected: Optional[str] = None      # the text as corrected, when a word was replaced
    ignored: list[str] = field(default_factory=list)  # words neither found nor corrected
    words: list[str] = field(default_factory=list)    # the words searched for

    @property
    def ambiguous(self) -> list[Hit]:
        """The resources the whole text names exactly, when there are several (``HMIP``: two inspectorates)."""
        exact = [h for h in self.hits if h.match == TIERS[0]]
        return exact if len(exact) > 1 else []

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "corrected": self.corrected, "ignored": self.ignored, "count": len(self.hits),
                "ambiguous": [h.iri for h in self.ambiguous], "results": [asdict(h) for h in self.hits]}


def mark_html(text: str) -> str:
    """FTS5 output with the private markers → HTML: everything escaped, matches in ``<mark>``."""
    return html.escape(text, quote=True).replace(_OPEN, "<mark>").replace(_CLOSE_MARK, "</mark>")


def _connect(path: Path, deadline: float) -> sqlite3.Connection:
    if not path.is_file():
        raise IndexMissing(f"no search index at {path}: run `kg build` (it writes {path.name} beside the store)")
    con = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, check_same_thread=False)
    con.set_progress_handler(lambda: int(time.monotonic() > deadline), 2000)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.DatabaseError as exc:
        con.close()
        raise IndexMissing(f"{path} is not a Remit search index ({exc}): run `kg build --force`") from exc
    if not row or row[0] != FORMAT:
        con.close()
        raise IndexMissing(f"{path} has another index format ({row[0] if row else 'none'}, not {FORMAT}): "
                           "run `kg build --force`")
    return con


def _q(word: str, prefix: bool = False) -> str:
    return '"' + word.replace('"', '""') + '"' + ("*" if prefix else "")


def _known(con: sqlite3.Connection, word: str, prefix: bool) -> bool:
    if con.execute("SELECT 1 FROM terms WHERE term = ?", (word,)).fetchone():
        return True
    return prefix and con.execute("SELECT 1 FROM terms WHERE term > ? AND term < ? LIMIT 1",
                                  (word, word + "\U0010ffff")).fetchone() is not None


def _corrections(con: sqlite3.Connection, word: str) -> list[str]:
    """Up to three vocabulary words close to ``word`` (trigram candidates, then difflib)."""
    grams = list(dict.fromkeys(word[i:i + 3] for i in range(len(word) - 2)))[:MAX_WORD]
    if not grams:
        return []
    expr = " OR ".join(_q(g) for g in grams)
    cands = [r[0] for r in con.execute("SELECT term FROM grams WHERE grams MATCH ? ORDER BY rank LIMIT 40", (expr,))]
    scored = []
    for c in cands:
        r = difflib.SequenceMatcher(None, word, c).ratio()
        if r >= CLOSE:
            scored.append((-r, c))
    return [c for _r, c in sorted(scored)[:3]]


def search(path: Path | str, text: str, limit: int = 10) -> Results:
    """The resources best matching ``text`` in the index at ``path`` (best first).

    Raises :class:`SearchError` (empty or too long text), :class:`IndexMissing`, :class:`SearchTimeout`.
    """
    if text is None or not text.strip():
        raise SearchError("empty search: type a name, an acronym or some words")
    if len(text) > MAX_QUERY:
        raise SearchError(f"search text too long: {len(text)} characters; at most {MAX_QUERY}")
    limit = max(1, min(int(limit), MAX_LIMIT))
    words = [w[:MAX_WORD] for w in tokens(text)][:MAX_WORDS]
    res = Results(query=text.strip())
    if not words:
        return res
    deadline = time.monotonic() + DEADLINE
    con = _connect(Path(path), deadline)
    try:
        return _search(con, res, words, limit)
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise SearchTimeout(f"the search took longer than {DEADLINE:g} s") from exc
        raise
    finally:
        con.close()


def _search(con: sqlite3.Connection, res: Results, words: list[str], limit: int) -> Results:
    groups: list[list[str]] = []      # per word: the words to look for (itself, or its corrections)
    used: list[str] = []
    for i, w in enumerate(words):
        last = i == len(words) - 1
        if _known(con, w, last):
            groups.append([w])
            used.append(w)
            continue
        fixes = _corrections(con, w) if len(w) >= 3 and not w.isdigit() else []
        if fixes:
            groups.append(fixes)
            used.append(fixes[0])
        else:
            res.ignored.append(w)
    res.words = [w for g in groups for w in g]
    if used != words and groups:
        res.corrected = " ".join(used)
    if not groups:
        return res
    order: dict[int, tuple[int, float]] = {}  # doc → (tier, score), best first

    cap = 2 * limit  # candidates: more than shown, so an agreement can move up before its clauses

    def add(tier: int, rows: list[tuple[Any, ...]]) -> None:
        for doc, score in rows:
            if doc not in order and len(order) < cap:
                order[doc] = (tier, score)

    def ranked(match: str, tier: int) -> None:
        if len(order) >= cap:
            return
        w1, w2, w3, w4, w5 = WEIGHTS
        # bm25 (negative: lower is better) scaled by the kind: a body or an establishment before a provision
        rows = con.execute(
            "SELECT w.rowid, bm25(words, ?, ?, ?, ?, ?) * (1.0 + ? * (? - d.kind_rank)) AS s FROM words w "
            "JOIN docs d ON d.id = w.rowid WHERE words MATCH ? ORDER BY s, d.kind_rank, d.label LIMIT ?",
            (w1, w2, w3, w4, w5, KIND_BOOST, len(KIND_ORDER), match, cap)).fetchall()
        add(tier, [(doc, round(s, 6)) for doc, s in rows])

    for phrase in dict.fromkeys([" ".join(words), " ".join(used)]):
        add(0, con.execute("SELECT n.doc, 0 FROM names n JOIN docs d ON d.id = n.doc WHERE n.name = ? "
                           "ORDER BY d.kind_rank, d.label LIMIT ?", (phrase, cap)).fetchall())
    for phrase in dict.fromkeys([" ".join(words), " ".join(used)]):
        if len(phrase) >= 2:
            add(1, con.execute("SELECT n.doc, MIN(length(n.name)) AS l FROM names n JOIN docs d ON d.id = n.doc "
                               "WHERE n.name > ? AND n.name < ? GROUP BY n.doc ORDER BY d.kind_rank, l, d.label "
                               "LIMIT ?", (phrase, phrase + "\U0010ffff", cap)).fetchall())

    def group(g: list[str], prefix: bool) -> str:
        alts = [_q(w, prefix) for w in g]
        return alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")"

    content = [g for g in groups if not all(w in STOP for w in g)] or groups  # "of", "in": not required
    all_words = " AND ".join(group(g, i == len(content) - 1) for i, g in enumerate(content))
    ranked("{label names aliases} : (" + all_words + ")", 2)
    ranked(all_words, 3)
    if len(content) > 1:
        ranked(" OR ".join(group(g, i == len(content) - 1) for i, g in enumerate(content)), 4)
    res.hits = _parents_first(_hits(con, order, res.words))[:limit]
    return res


def _parents_first(hits: list[Hit]) -> list[Hit]:
    """An agreement found with its clauses comes before the first of them (the clauses keep their order)."""
    out: list[Hit] = []
    at = {h.iri: i for i, h in enumerate(hits)}
    placed: set[str] = set()
    for h in hits:
        if h.iri in placed:
            continue
        if h.parent and h.parent in at and h.parent not in placed and at[h.parent] > at[h.iri]:
            out.append(hits[at[h.parent]])
            placed.add(h.parent)
        out.append(h)
        placed.add(h.iri)
    return out


def _hits(con: sqlite3.Connection, order: dict[int, tuple[int, float]], words: list[str]) -> list[Hit]:
    if not order:
        return []
    ids = list(order)
    marks: dict[int, tuple[str, str, str, str]] = {}
    expr = " OR ".join(_q(w, True) for w in dict.fromkeys(words))
    o, c = _OPEN, _CLOSE_MARK
    for row in con.execute(
            f"SELECT rowid, highlight(words, 0, ?, ?), snippet(words, 1, ?, ?, '…', 12), snippet(words, 3, ?, ?, '…', 24), "
            f"snippet(words, 4, ?, ?, '…', 12) FROM words WHERE words MATCH ? AND rowid IN ({','.join('?' * len(ids))})",
            (o, c, o, c, o, c, o, c, expr, *ids)):
        marks[row[0]] = row[1:]
    docs = {r[0]: r[1:] for r in con.execute(
        f"SELECT d.id, d.iri, d.kind, d.label, d.names, d.parent, d.parent_label, w.body, w.context FROM docs d "
        f"JOIN words w ON w.rowid = d.id WHERE d.id IN ({','.join('?' * len(ids))})", ids)}
    # insertion order is the ranking: tier by tier, each tier's rows as SQLite ordered them
    hits = []
    for d in ids:
        iri, kind, label, names, parent, parent_label, body, context = docs[d]
        lab, nam, bod, ctx = marks.get(d, (label, "", "", ""))
        snippet = next((s for s in (bod, nam, ctx) if _OPEN in s), "")
        if not snippet:  # no match outside the label: what it is (a clause's text, an establishment's type and nation)
            text = body or context or ""
            snippet = text if len(text) <= 160 else text[:157].rsplit(" ", 1)[0] + "…"
        plain = snippet.replace(_OPEN, "").replace(_CLOSE_MARK, "")
        hits.append(Hit(iri, label, kind, json.loads(names), TIERS[order[d][0]], mark_html(lab), plain,
                        mark_html(snippet), parent, parent_label, order[d][1]))
    return hits


def _short(iri: str) -> str:
    return iri.split("https://w3id.org/remit/", 1)[-1]


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def results_table(res: Results, width: int = 100) -> str:
    """``kg search``'s output: a plain text table (rank, kind, label, where it is), then the notes."""
    lines = []
    if res.corrected:
        lines.append(f"Showing results for: {res.corrected}")
    if res.ignored:
        lines.append(f"Not found, left out: {', '.join(res.ignored)}")
    if res.ambiguous:
        lines.append(f"{res.query.strip()!r} names {len(res.ambiguous)} resources: "
                     + "; ".join(h.label for h in res.ambiguous))
    if not res.hits:
        lines.append(f"No results for {res.query!r}.")
        return "\n".join(lines) + "\n"
    kind_w = max(len("kind"), *(len(h.kind) for h in res.hits))
    label_w = max(20, min(60, max(len(h.label) for h in res.hits)))
    lines.append(f"{'#':>2}  {'kind':<{kind_w}}  {'label':<{label_w}}  resource")
    for i, h in enumerate(res.hits, start=1):
        lines.append(f"{i:>2}  {h.kind:<{kind_w}}  {_cut(h.label, label_w):<{label_w}}  {_short(h.iri)}")
    return "\n".join(lines) + "\n"

"""The search index ``build/search.sqlite``, written by ``kg build`` from the built store (SQLite FTS5, from
Python's standard library).

One row per resource people look for: oversight bodies and other organisations, offices, agreements and
their clauses (areas of joint work, lead rules, principles, ...), establishments (``remit:Setting``),
setting types, functions, jurisdictions, statutes and provisions. Contact points and signatures are not
indexed (people's names). Each row has the resource's IRI, its label, its kind and five text fields:

* ``label`` — the label (``skos:prefLabel``, else ``rdfs:label``, ``dcterms:title``, ``foaf:name``; English first);
* ``names`` — the other labels, ``skos:altLabel`` and ``remit:acronym`` (a sub-property of it);
* ``aliases`` — the long forms of "HM"/"HMP" (Her/His Majesty's, HM Prison) that people type (searched,
  never shown);
* ``body`` — what the resource says: ``remit:statement`` (a clause's text), ``dcterms:description``,
  ``skos:definition``, ``remit:scopeNote``;
* ``context`` — the labels (and acronyms) of what it hangs on: an establishment's setting type,
  jurisdiction and operator, an agreement's parties and jurisdiction, a clause's agreement.

Beside the full-text table ``words`` (tokenizer ``porter unicode61``: English stems, so "prisons" finds
"prison", diacritics removed; prefix indexes of 2 and 3 characters) the file holds ``names`` (every label,
alternative name and acronym, normalised by :func:`normalise`, for exact and prefix matches), ``terms`` (the
words of the four fields as typed, not stemmed) and ``grams`` (the same words under the ``trigram``
tokenizer, for spelling correction). Rows are written in IRI order
into a fresh file and the file is vacuumed: the same graph gives the same bytes.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import pyoxigraph as ox

from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY

__all__ = ["INDEX_FILE", "FORMAT", "KINDS", "KIND_ORDER", "Entry", "collect", "write_index", "write_entries", "index_path",
           "normalise", "tokens", "index_format"]

#: The index's file name, beside ``store/`` in a build folder.
INDEX_FILE = "search.sqlite"
#: Changes when the schema changes (``meta`` table); a reader refuses another format.
FORMAT = "remit-search-2"

_R = "https://w3id.org/remit/def/"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_DCT = "http://purl.org/dc/terms/"
_FOAF = "http://xmlns.com/foaf/0.1/"
_VCARD = "http://www.w3.org/2006/vcard/ns#"

#: Classes, most specific first, and the kind their instances get (None: never indexed).
KINDS: tuple[tuple[str, Optional[str]], ...] = (
    (_R + "ContactPoint", None), (_R + "Signature", None), (_VCARD + "Individual", None), (_VCARD + "Kind", None),
    (_R + "Setting", "establishment"),
    (_R + "AgreementPart", "agreement clause"),
    (_R + "Agreement", "agreement"),
    (_R + "Arrangement", "arrangement"),
    (_R + "Office", "office"),
    (_R + "OversightBody", "body"), (_R + "Inspectorate", "body"), (_R + "Regulator", "body"),
    (_R + "LayMonitoringBody", "body"), (_R + "Ombudsman", "body"),  # also without the reasoner's closure
    (_R + "OtherOrganisation", "organisation"),
    (_R + "SettingType", "setting type"),
    (_R + "Function", "function"),
    (_R + "Jurisdiction", "jurisdiction"),
    (_R + "Statute", "statute"),
    (_R + "StatutoryProvision", "provision"),
)
#: Kinds in the order a tie is broken (what people look for most first).
KIND_ORDER: tuple[str, ...] = ("body", "establishment", "agreement", "office", "setting type", "function",
                               "jurisdiction", "organisation", "arrangement", "statute", "agreement clause",
                               "provision")

_LABELS = (_SKOS + "prefLabel", _RDFS + "label", _DCT + "title", _FOAF + "name")
_NAMES = (_SKOS + "altLabel", _R + "acronym")
_BODY = (_R + "statement", _DCT + "description", _SKOS + "definition", _R + "scopeNote", _SKOS + "scopeNote")
_CONTEXT = (_R + "settingType", _R + "jurisdiction", _R + "operatedBy", _R + "party")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: ``"CQC–HMI Prisons"`` → ``"cqc hmi prisons"``."""
    if text.isascii():  # most labels: nothing to decompose (the same result, ten times faster)
        text = text.casefold()
    else:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(_WORD.findall(text))


def tokens(text: str) -> list[str]:
    """The words of ``text`` as :func:`normalise` splits them (close to FTS5's ``unicode61``)."""
    return normalise(text).split()


def _expansions(name: str) -> list[str]:
    """What people type for "HM ..." and "HMP ...": Her/His Majesty's ..., HM Prison ..."""
    if "HM" not in name:
        return []
    out = []
    if re.search(r"\bHMP\b", name):
        out.append(re.sub(r"\bHMP\b", "HM Prison", name))
    for form in out + [name]:
        if re.search(r"\bHM\b", form):
            out += [re.sub(r"\bHM\b", "Her Majesty's", form), re.sub(r"\bHM\b", "His Majesty's", form)]
    return [o for o in dict.fromkeys(out) if o != name]


def _clean(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


@dataclass
class Entry:
    """One row of the index."""

    iri: str
    kind: str
    label: str
    names: list[str] = field(default_factory=list)      # acronyms and alternative names (shown)
    aliases: list[str] = field(default_factory=list)    # expansions (searched, not shown)
    body: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    parent: Optional[str] = None
    parent_label: Optional[str] = None


def _select(store: ox.Store, query: str, graphs: Sequence[str]) -> list[tuple[Any, ...]]:
    res = store.query(query, default_graph=[ox.NamedNode(g) for g in graphs])
    return [tuple(sol) for sol in res]  # type: ignore[union-attr]


def _values(iris: Sequence[str]) -> str:
    """A ``VALUES`` list: the store then reads each predicate's (or class's) triples only, not every triple."""
    return " ".join(f"<{p}>" for p in iris)


def collect(store: ox.Store, graphs: Optional[Sequence[str]] = None) -> list[Entry]:
    """The rows of the index, in IRI order, from the asserted, inferred and ontology graphs of ``store``."""
    graphs = list(graphs or (str(GRAPH_ASSERTED), str(GRAPH_INFERRED), str(GRAPH_ONTOLOGY)))
    rank = {cls: i for i, (cls, _k) in enumerate(KINDS)}
    best: dict[str, int] = {}
    for s, t in _select(store, "SELECT DISTINCT ?s ?t WHERE { VALUES ?t { %s } ?s a ?t FILTER(isIRI(?s)) }"
                        % _values([c for c, _k in KINDS]), graphs):
        i = rank[t.value]
        if s.value not in best or i < best[s.value]:
            best[s.value] = i
    kinds = {s: KINDS[i][1] for s, i in best.items() if KINDS[i][1] is not None}

    # One pass over the label, name and text predicates: the literals of indexed resources, and the labels of
    # everything (a context's label may belong to a resource that is not indexed itself).
    literals: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    all_labels: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    label_preds = set(_LABELS)
    for s, p, o in _select(store, "SELECT DISTINCT ?s ?p ?o WHERE { VALUES ?p { %s } ?s ?p ?o "
                           "FILTER(isIRI(?s) && isLiteral(?o)) }" % _values(_LABELS + _NAMES + _BODY), graphs):
        sv, pv = s.value, p.value
        indexed, is_label = sv in kinds, pv in label_preds
        if indexed or is_label:
            value = (_clean(o.value), o.language or "")
            if indexed:
                literals[sv][pv].add(value)
            if is_label:
                all_labels[sv][pv].add(value)
    labels: dict[str, str] = {}
    for s, by_p in all_labels.items():
        labels[s] = _best_label(by_p)
    acronyms: dict[str, list[str]] = defaultdict(list)
    for s, o in _select(store, "SELECT DISTINCT ?s ?o WHERE { ?s <%s> ?o FILTER(isIRI(?s)) }" % (_R + "acronym"),
                        graphs):
        acronyms[s.value].append(_clean(o.value))
    context: dict[str, set[str]] = defaultdict(set)
    for s, o in _select(store, "SELECT DISTINCT ?s ?o WHERE { VALUES ?p { %s } ?s ?p ?o FILTER(isIRI(?s) && isIRI(?o)) }"
                        % _values(_CONTEXT), graphs):
        if s.value in kinds:
            if o.value in labels:
                context[s.value].add(labels[o.value])
            context[s.value].update(acronyms.get(o.value, ()))

    entries = []
    for iri in sorted(kinds):
        by_p = literals.get(iri, {})
        label = labels.get(iri) or iri.rstrip("/").rsplit("/", 1)[-1].replace("-", " ")
        names = sorted({v for p in _LABELS + _NAMES for v, _l in by_p.get(p, ()) if v and v != label})
        aliases = sorted({a for n in [label, *names] for a in _expansions(n)} - set(names) - {label})
        body = sorted({v for p in _BODY for v, _l in by_p.get(p, ()) if v})
        e = Entry(iri, kinds[iri], label, names, aliases, body, sorted(context.get(iri, ())))
        if e.kind == "agreement clause":
            parent = iri.rsplit("/", 1)[0]
            if kinds.get(parent) == "agreement":
                e.parent, e.parent_label = parent, labels.get(parent)
                e.context = sorted({*e.context, *([e.parent_label] if e.parent_label else [])})
        entries.append(e)
    return entries


def _best_label(by_p: dict[str, set[tuple[str, str]]]) -> str:
    best: Optional[tuple[int, str]] = None
    for i, p in enumerate(_LABELS):
        for value, lang in by_p.get(p, ()):
            r = (i * 2 + (0 if (lang or "en").startswith("en") else 1), value)
            if value and (best is None or r < best):
                best = r
    return best[1] if best else ""


_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE docs(id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, label TEXT NOT NULL,
                  names TEXT NOT NULL, parent TEXT, parent_label TEXT, kind_rank INTEGER NOT NULL);
CREATE VIRTUAL TABLE words USING fts5(label, names, aliases, body, context,
                                      tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3');
CREATE TABLE names(name TEXT NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY(name, doc)) WITHOUT ROWID;
CREATE VIRTUAL TABLE temp.plain USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE temp.plain_vocab USING fts5vocab(temp, 'plain', 'row');
CREATE TABLE terms(id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, docs INTEGER NOT NULL);
CREATE VIRTUAL TABLE grams USING fts5(term, tokenize = 'trigram', detail = 'none');
"""


def index_path(store_path: os.PathLike[str] | str) -> Path:
    """Where the index of the build whose store is ``store_path`` lives (``build/search.sqlite``)."""
    return Path(store_path).parent / INDEX_FILE


def index_format(path: Path) -> Optional[str]:
    """The format an index file was written in (``meta``), or None when it is missing or unreadable: a build
    whose index is of another format than :data:`FORMAT` is not fresh (:func:`kg.pipeline.layout.is_fresh`)."""
    if not Path(path).is_file():
        return None
    try:
        con = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def write_index(store: ox.Store, path: Path, graphs: Optional[Sequence[str]] = None) -> int:
    """Write the index of ``store`` to ``path`` (replaced); returns the number of rows."""
    return write_entries(collect(store, graphs), path)


def write_entries(entries: Sequence[Entry], path: Path) -> int:
    """Write the index rows ``entries`` (:func:`collect`) to ``path`` (replaced); returns the number of rows."""
    path = Path(path)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(str(path), isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA page_size = 4096")
        con.executescript(_SCHEMA)
        con.execute("BEGIN")
        order = {k: i for i, k in enumerate(KIND_ORDER)}
        for i, e in enumerate(entries, start=1):
            con.execute("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (i, e.iri, e.kind, e.label, json.dumps(e.names, ensure_ascii=False), e.parent,
                         e.parent_label, order.get(e.kind, len(order))))
            fields = (e.label, " · ".join(e.names), " · ".join(e.aliases), "\n".join(e.body), " · ".join(e.context))
            con.execute("INSERT INTO words(rowid, label, names, aliases, body, context) VALUES (?, ?, ?, ?, ?, ?)",
                        (i, *fields))
            con.execute("INSERT INTO temp.plain(rowid, text) VALUES (?, ?)", (i, "\n".join(fields)))
            for n in sorted({normalise(x) for x in [e.label, *e.names, *e.aliases]} - {""}):
                con.execute("INSERT INTO names VALUES (?, ?)", (n, i))
        con.execute("INSERT INTO words(words) VALUES ('optimize')")
        con.execute("INSERT INTO terms(term, docs) SELECT term, doc FROM temp.plain_vocab ORDER BY term")
        con.execute("INSERT INTO grams(rowid, term) SELECT id, term FROM terms ORDER BY id")
        con.execute("INSERT INTO grams(grams) VALUES ('optimize')")
        con.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("rows", str(len(entries)))])
        con.execute("COMMIT")
        con.execute("VACUUM")
    finally:
        con.close()
    return len(entries)

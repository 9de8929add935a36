"""The index ``kg build`` writes (``build/search.sqlite``): reproducible, the rows people look for and no
others, and a lookup that never lets what people type reach FTS5 as syntax, with bounded work."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from kg.rdf.store import open_store
from kg.search import query as search_query
from kg.search.index import FORMAT, INDEX_FILE, normalise, tokens, write_index
from kg.search.query import MAX_QUERY, MAX_WORDS, IndexMissing, SearchError, SearchTimeout, mark_html, search
from support.realbuild import ensure_real_build

ID = "https://w3id.org/remit/id/"


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_kg_build_writes_the_index_and_the_same_store_gives_the_same_bytes(tmp_path: Path) -> None:
    build = ensure_real_build()
    built = build / INDEX_FILE
    assert built.is_file()
    store = open_store(build / "store")
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    n = write_index(store, a)
    assert write_index(store, b) == n
    assert _sha(a) == _sha(b)                     # same input, same bytes
    assert _sha(a) == _sha(built)                 # and the same as kg build's (from remit.trig's store)
    con = sqlite3.connect(built)
    assert con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0] == FORMAT
    assert int(con.execute("SELECT value FROM meta WHERE key = 'rows'").fetchone()[0]) == n


def test_rows_are_the_resources_people_look_for() -> None:
    con = sqlite3.connect(ensure_real_build() / INDEX_FILE)
    kinds = dict(con.execute("SELECT kind, COUNT(*) FROM docs GROUP BY kind").fetchall())
    for kind in ("body", "office", "agreement", "agreement clause", "establishment", "setting type", "function"):
        assert kinds.get(kind, 0) > 0, kind
    row = con.execute("SELECT kind, label, names FROM docs WHERE iri = ?", (ID + "body/hmi-probation",)).fetchone()
    assert row[0] == "body" and row[1] == "HM Inspectorate of Probation" and "HMIP" in row[2]
    iris = {r[0] for r in con.execute("SELECT iri FROM docs")}
    # contact points and signatures name people: never indexed; nor source documents or responsibilities
    assert not [i for i in iris if "/contact-" in i or "/signature-" in i or "/document/" in i
                or "/responsibility/" in i]
    clause = con.execute("SELECT parent, kind FROM docs WHERE iri = ?",
                         (ID + "agreement/stc-joint-inspection-framework/notice-period",)).fetchone()
    assert clause == (ID + "agreement/stc-joint-inspection-framework", "agreement clause")


def test_normalise_and_tokens() -> None:
    assert normalise("CQC–HMI Prisons") == "cqc hmi prisons"
    assert normalise("  Yarl's   Wood ") == "yarl s wood"
    assert tokens('NEAR("a" b) OR c*') == ["near", "a", "b", "or", "c"]
    assert normalise("Ysbyty Gwynedd, Bangor — Pen-y-bont") == "ysbyty gwynedd bangor pen y bont"
    assert normalise("Crèche Ötzi") == "creche otzi"


HOSTILE = ['"', '""', "'", "*", "NEAR(a b)", "a OR b", "a AND", "NOT x", "-x", "^x", "label:cqc", "{label names}: x",
           "(", ")", "cqc*", "\x00", "a\x00b", "\x01\x02", "'; DROP TABLE docs; --", "%", "_", "\\", "🙂", "עברית",
           "x" * 200, " ".join(["ab"] * 66)]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_searched_as_words(text: str) -> None:
    res = search(ensure_real_build() / INDEX_FILE, text, 10)
    assert len(res.hits) <= 10
    assert len(res.words) <= 3 * MAX_WORDS      # each of the first MAX_WORDS words, or up to 3 corrections
    for h in res.hits:
        assert "<script" not in h.label_html and "\x01" not in h.snippet_html


def test_cqc_operator_text_matches_cqc_not_syntax() -> None:
    res = search(ensure_real_build() / INDEX_FILE, "cqc*", 5)
    assert res.hits[0].iri == ID + "body/cqc"


def test_bad_input_and_missing_index(tmp_path: Path) -> None:
    index = ensure_real_build() / INDEX_FILE
    for empty in ("", "   ", "\t\n"):
        with pytest.raises(SearchError, match="empty"):
            search(index, empty)
    with pytest.raises(SearchError, match="too long"):
        search(index, "x" * (MAX_QUERY + 1))
    with pytest.raises(IndexMissing, match="kg build"):
        search(tmp_path / "nothing.sqlite", "cqc")
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(IndexMissing):
        search(tmp_path / "junk.sqlite", "cqc")


def test_the_deadline_stops_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_query, "DEADLINE", -1.0)  # already past: SQLite is interrupted at once
    with pytest.raises(SearchTimeout):
        search(ensure_real_build() / INDEX_FILE, "inspection of prisons in wales", 50)


def test_highlights_escape_everything_but_the_marks() -> None:
    assert mark_html("<b>\x01x\x02</b> & \"q\"") == "&lt;b&gt;<mark>x</mark>&lt;/b&gt; &amp; &quot;q&quot;"

"""A list cell of a named query (a GROUP_CONCAT, joined with " | ") comes with its parts sorted, whatever the
engine's order. Regression: GROUP_CONCAT has no defined order (SPARQL 1.1 §18.5.1.7) and Oxigraph's differs
between runs, so ``kg query reviews-due`` listed one agreement's sources in two orders in one fresh clone (the
data-date test compared a default-date run with an explicit-date run and failed)."""

from __future__ import annotations

from kg.query.registry import LIST_SEPARATOR, ResultPage, list_columns, load_queries, ordered_lists, run_named
from kg.rdf.store import copy_to_memory, open_store
from support.realbuild import ROOT, ensure_real_build


def test_list_columns_are_the_group_concat_projections() -> None:
    text = (ROOT / "queries" / "reviews-due.rq").read_text(encoding="utf-8")
    assert list_columns(text) == {"sources"}


def test_a_column_over_a_sub_selects_list_is_a_list_column() -> None:
    """Regression: ``agreements`` projects ``(MAX(COALESCE(?parties0, "")) AS ?parties)`` over a sub-select's
    GROUP_CONCAT, so its parties came unsorted; over HTTP the same question answered "CQC | HMI Prisons" from
    the on-disk store and "HMI Prisons | CQC" once the server answered from its copy in memory (CI failure)."""
    text = (ROOT / "queries" / "agreements.rq").read_text(encoding="utf-8")
    assert {"parties", "signatories", "sourceDocuments", "sources"} <= list_columns(text)
    assert not {"agreementLabel", "statusLabel", "documentDate"} & list_columns(text)
    tricky = 'SELECT ?a (MAX(?n) AS ?b) (CONCAT("(", ?y, "#") AS ?c) WHERE { BIND(GROUP_CONCAT(?x) AS ?y) }'
    assert list_columns(tricky) == {"y", "c"}  # brackets and "#" inside strings are not syntax


def test_ordered_lists_sorts_each_list_cell_and_nothing_else() -> None:
    text = 'SELECT ?a (GROUP_CONCAT(?x; separator=" | ") AS ?xs) WHERE { ?a ?p ?x } GROUP BY ?a'
    page = ResultPage(columns=["a", "xs"], limit=10, offset=0, has_more=False, rows=[
        {"a": {"type": "literal", "value": "b | a"}, "xs": {"type": "literal", "value": "c | b | a"}},
        {"a": {"type": "literal", "value": "z"}},
    ])
    page.rows.append({"a": {"type": "literal", "value": "q"}, "xs": {"type": "literal", "value": " | d | c"}})
    out = ordered_lists(page, text)
    assert out.rows[0]["xs"]["value"] == "a | b | c"
    assert out.rows[2]["xs"]["value"] == "c | d"  # an empty part (Virtuoso's, for an unbound value) is left out
    assert out.rows[0]["a"]["value"] == "b | a"  # not a GROUP_CONCAT column: left as the engine gave it
    assert "xs" not in out.rows[1]


def test_every_named_query_on_the_real_data_answers_with_sorted_lists() -> None:
    store = open_store(ensure_real_build() / "store")
    registry = load_queries(ROOT / "queries")
    checked = 0
    for name, nq in registry.items():
        if any(p.required for p in nq.params):
            continue
        lists = list_columns(nq.text)
        for row in run_named(store, nq, {}, limit=1000).rows:
            for c in lists & row.keys():
                parts = row[c]["value"].split(LIST_SEPARATOR)
                assert parts == sorted(parts), (name, c, parts)
                checked += len(parts) > 1
            unlisted = {c for c, cell in row.items() if LIST_SEPARATOR in cell["value"]} - lists
            assert not unlisted, (name, unlisted)  # every joined cell is known as a list, so it is sorted
    assert checked > 20  # many cells with two or more parts were looked at


def test_explain_rows_come_in_one_order() -> None:
    """Regression: the explanation of a matrix cell lists a responsibility once per legal basis, and the rows
    tied on (role, fact, agreement) came in a different order from one run to the next, so two publications of
    the same store differed (matrix/secure-training-centre/joint-inspection.html: CQC's two legal bases)."""
    store = open_store(ensure_real_build() / "store")
    nq = load_queries(ROOT / "queries")["explain"]
    page = run_named(store, nq, {"body1": "https://w3id.org/remit/id/body/cqc",
                                 "body2": "https://w3id.org/remit/id/body/ofsted",
                                 "settingType": "https://w3id.org/remit/id/setting-type/secure-training-centre",
                                 "function": "https://w3id.org/remit/id/function/joint-inspection"}, limit=1000)

    def key(r: dict) -> tuple[str, ...]:
        return tuple(r.get(c, {}).get("value", "") for c in ("role", "fact", "agreement"))

    ties = [(a, b) for a, b in zip(page.rows, page.rows[1:]) if key(a) == key(b)]
    assert ties, "the cell has rows tied on role, fact and agreement (so the order could fail)"
    for a, b in ties:
        assert (a.get("legalBasis", {}).get("value", ""), a.get("lead", {}).get("value", "")) <= \
               (b.get("legalBasis", {}).get("value", ""), b.get("lead", {}).get("value", ""))


def test_every_named_query_answers_the_same_from_disk_and_from_memory() -> None:
    """A server answers from the on-disk store until its copy in memory is made (``kg.rdf.store.MemoryCopy``),
    so one question asked twice must not change its answer when the store under it changes: the same rows, in
    the same order, with the same cells. Regression: ``agreements`` listed parties in each store's own order."""
    disk = open_store(ensure_real_build() / "store")
    memory = copy_to_memory(disk)
    registry = load_queries(ROOT / "queries")
    compared = 0
    for name, nq in registry.items():
        if any(p.required for p in nq.params):
            continue
        a, b = run_named(disk, nq, {}, limit=1000), run_named(memory, nq, {}, limit=1000)
        assert a.rows == b.rows, name
        compared += len(a.rows)
    assert compared > 200

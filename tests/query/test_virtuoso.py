"""The external-store suite on a second real engine: OpenLink Virtuoso 7 open source (no mocks).

``virtuoso-t`` (Debian ``virtuoso-opensource-7-bin``, ``make virtuoso``) runs over a new database in a
temporary folder, its HTTP and ISQL ports free loopback ports (``support.servers.virtuoso_server``), and is
stopped by PID. The small synthetic build of ``test_remote`` is loaded with ``kg push`` through Virtuoso's
Graph Store Protocol endpoint ``/sparql-graph-crud-auth`` as a push account that has only the
``SPARQL_UPDATE`` role (HTTP digest auth); anonymous ``/sparql`` stays read-only. Then every named query
through ``kg.query.remote`` must give the embedded store's rows, and ``kg serve --store`` on Virtuoso must
answer ``/sparql`` and ``/queries/{name}`` as ``kg serve`` on the embedded store does. Where Virtuoso departs
from the standard, ``kg.query.remote`` adapts (see docs/scale.md, "Virtuoso"); the queries are not changed.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pyoxigraph as ox
import pytest

from kg.ops.push import PushError, push
from kg.publication.views import STORE_REFUSED
from kg.query.registry import load_queries, run_named
from kg.query.remote import RemoteError, RemoteStore, adapt_query, run_named_remote
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY
from support.servers import Virtuoso, virtuoso_server
from api.conftest import Server, start_server, stop_server
from query.test_remote import ROOT, _normalise, built, sample_overlap  # noqa: F401  (built is a fixture)
from query.test_remote_serve import CONSTRUCT, FEW_BODIES, SETTINGS, _ask, embedded  # noqa: F401  (a fixture)

pytestmark = pytest.mark.timeout(180)

#: the served instance compares answers, not deadlines: devolved-boundary takes ~1-2 s on Virtuoso here, and
#: the suite's 2 s deadline (api.conftest.DEADLINE) cut it off under load (seen at load average 10)
ENV = {"REMIT_QUERIES_DIR": str(ROOT / "queries"), "REMIT_WORKERS": "1", "REMIT_QUEUE_LIMIT": "4",
       "REMIT_QUERY_TIMEOUT": "20"}


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    try:
        with virtuoso_server(tmp_path_factory.mktemp("virtuoso")) as v:
            yield v
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def pushed(built: Path, virtuoso: Virtuoso) -> str:  # noqa: F811
    """The build loaded by the real CLI, ``kg push``, through the GSP endpoint with the push account."""
    r = subprocess.run([sys.executable, "-m", "kg.cli", "push", "--store", virtuoso.sparql,
                        "--graph-store", virtuoso.graph_store, "--user", virtuoso.user, "--dataset", str(built)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={**os.environ, "REMIT_STORE_PASSWORD": virtuoso.password})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pushed" in r.stdout and "in the store" in r.stdout
    return virtuoso.sparql


def test_push_needs_the_push_account_and_is_idempotent(built: Path, virtuoso: Virtuoso, pushed: str) -> None:  # noqa: F811
    from kg.ops.push import read_dataset

    local = {g: len(set(ts)) for g, ts in read_dataset(built).items()}
    remote = RemoteStore(pushed)
    counts = {g: remote.count(g) for g in (str(GRAPH_ONTOLOGY), str(GRAPH_ASSERTED), str(GRAPH_INFERRED))}
    assert counts == {g: local[g] for g in counts} and all(counts.values())
    again = push(built, virtuoso.graph_store, pushed, auth=(virtuoso.user, virtuoso.password))
    assert {g.graph: g.stored for g in again.graphs} == local  # PUT replaced, not added
    # anonymous writes are refused (the SPARQL user has no SPARQL_UPDATE role) and change nothing
    with pytest.raises(PushError, match="refused graph"):
        push(built, virtuoso.base + "/sparql-graph-crud", None)
    with pytest.raises(PushError, match="refused the credentials"):
        push(built, virtuoso.graph_store, None, auth=(virtuoso.user, "wrong"))
    r = httpx.post(pushed, data={"query": f"CLEAR GRAPH <{GRAPH_ASSERTED}>"}, timeout=30)
    assert r.status_code >= 400
    assert {g: remote.count(g) for g in counts} == counts


def _sample_establishment(store: ox.Store) -> dict[str, str]:
    """A real establishment (a remit:Setting of the graph) for queries that take one."""
    rows = list(store.query("SELECT ?s WHERE { GRAPH ?g { ?s a <https://w3id.org/remit/def/Setting> } } ORDER BY ?s LIMIT 1"))
    return {"establishment": rows[0]["s"].value} if rows else {}


#: Named queries Virtuoso 7.2.5 (Debian bookworm) does not answer as SPARQL 1.1 says, with what it does
#: (docs/scale.md, "Virtuoso"). Each must still depart exactly so: when an adapter in kg.query.remote or a
#: newer Virtuoso fixes one, this test fails and the entry (and the doc row) must go.
VIRTUOSO_DEPARTS: dict[str, str] = {}

#: Named queries whose answer on Virtuoso 7.2.5 is not stable: by the plan it compiles (which varies with the
#: server's state, not with the data), now and then rows are missing or wrong. Tests accept, for these, an answer
#: with the embedded store's columns and no more rows than it, and nothing else (docs/scale.md, "Virtuoso").
VIRTUOSO_UNSTABLE: dict[str, str] = {
    "powers-without-agreement": "a whole (body, setting type, function, lead) key missing now and then: 143, 146 "
                                "or 148 rows of 151 on the synthetic build in some suite runs (2026-12-06)",
    "devolved-boundary": "with its defaults on the real build (kg serve --store, 2026-12-06): one row of 10 with its "
                         "covering basis and sources empty; the same query through RemoteStore in another process "
                         "gave the embedded store's rows",
    "gaps": "with its defaults on the real build, once in five suite runs, the police custody gap (with its partial "
            "holders) came as a Border Force custody gap with none (9 rows for 9; 2026-12-06)",
}


def _compare(embedded: ox.Store, remote: RemoteStore, nq, params: dict[str, str]) -> str:
    """"" when the remote rows equal the embedded rows on both pages, else what differs."""
    for limit, offset in ((1000, 0), (3, 2)):
        mine = run_named(embedded, nq, params, limit, offset)
        try:
            theirs = run_named_remote(remote, nq, params, limit, offset)
        except RemoteError as exc:
            return f"error: {exc}"
        if theirs.columns != mine.columns:
            return f"columns {theirs.columns} != {mine.columns}"
        if (theirs.has_more, len(theirs.rows)) != (mine.has_more, len(mine.rows)):
            keys = [c for c in mine.columns if not c.endswith(("Label", "Sources", "Functions", "Jurisdictions"))]
            a = {tuple(r.get(k, {}).get("value") for k in keys) for r in theirs.rows}
            b = {tuple(r.get(k, {}).get("value") for k in keys) for r in mine.rows}
            return (f"rows {len(theirs.rows)}/{theirs.has_more} != {len(mine.rows)}/{mine.has_more} ({limit}, {offset}); "
                    f"keys {keys}; only on the store: {sorted(a - b)[:3]}; only embedded: {sorted(b - a)[:3]}")
        if _normalise(theirs.rows) != _normalise(mine.rows):
            diff = [(a, b) for a, b in zip(_normalise(theirs.rows), _normalise(mine.rows)) if a != b][:1]
            return f"values differ ({limit}, {offset}): {diff}"
    return ""


def _unstable_but_bounded(embedded: ox.Store, remote: RemoteStore, nq, params: dict[str, str]) -> bool:
    """What a VIRTUOSO_UNSTABLE query must still do: the embedded store's columns, and no more rows than it."""
    mine = run_named(embedded, nq, params, 1000, 0)
    theirs = run_named_remote(remote, nq, params, 1000, 0)
    return theirs.columns == mine.columns and not mine.has_more and not theirs.has_more and len(theirs.rows) <= len(mine.rows)


def test_named_queries_match_the_embedded_store(built: Path, pushed: str) -> None:  # noqa: F811
    embedded = ox.Store()
    embedded.load(path=str(built), format=ox.RdfFormat.TRIG)
    remote = RemoteStore(pushed)
    assert remote.dialect == "virtuoso"  # detected from the Server header
    registry = load_queries(ROOT / "queries")
    sample = {**sample_overlap(embedded), **_sample_establishment(embedded)}
    outcome: dict[str, str] = {}
    for name, nq in sorted(registry.items()):
        if name == "reviews-due":
            continue  # compared in test_reviews_due_answers_on_virtuoso, which allows for Virtuoso's durations
        params = {"asOf": "2026-01-01"} if any(p.name == "asOf" for p in nq.params) else {}
        missing = [p.name for p in nq.params if p.required and p.name not in sample]
        assert not missing, f"{name}: no sample value for the required parameter(s) {missing}; add one here"
        params.update({p.name: sample[p.name] for p in nq.params if p.required})
        outcome[name] = _compare(embedded, remote, nq, params)
    equal = sorted(n for n, o in outcome.items() if not o)
    unexpected = {n: o[:700] for n, o in outcome.items() if o and n not in VIRTUOSO_DEPARTS}
    for name in [n for n in unexpected if n in VIRTUOSO_UNSTABLE]:
        params = {"asOf": "2026-01-01"} if any(p.name == "asOf" for p in registry[name].params) else {}
        if _unstable_but_bounded(embedded, remote, registry[name], params):  # asked again
            del unexpected[name]
    assert unexpected == {}
    fixed = [n for n in VIRTUOSO_DEPARTS if n in outcome and VIRTUOSO_DEPARTS[n] not in outcome[n]]
    assert fixed == [], {n: outcome[n][:400] for n in fixed}
    # establishment and remit-matrix: the SUBSTR length adapter; duplications: no longer refused; explain: since
    # its branches became sub-selects that the VALUES block reaches (2026-12-03), the same rows
    # overlaps (its lead from a sub-select) and leads (its lead's words per row) since 2026-12-03;
    # unremade-agreements since the sameTerm adapter for a parameter not given (2026-12-04); agreement-overlaps
    # since it pairs parts through derived grounds and takes its leads from grouped sub-selects (2026-12-04)
    # powers-without-agreement since its relatedFunction comes from an OPTIONAL, not an EXISTS as a value (SQ074,
    # 2026-12-05): every named query now
    # (and VIRTUOSO_UNSTABLE's, in most runs)
    assert {"agreement-overlaps", "agreements", "contacts", "devolved-boundary", "duplications", "establishment",
            "explain", "gaps", "leads", "npm-membership", "overlaps", "party-functions",
            "remit-matrix", "unremade-agreements"} - set(VIRTUOSO_UNSTABLE) <= set(equal)
    # the parameter given, too (bound by the VALUES block: the adapter leaves its sameTerm calls as they are)
    bodies = [r["b"].value for r in embedded.query(
        "SELECT DISTINCT ?b WHERE { GRAPH ?g { ?a <https://w3id.org/remit/def/party> ?b } } ORDER BY ?b LIMIT 2")]
    for body in bodies:
        assert _compare(embedded, remote, registry["unremade-agreements"], {"body": body}) == "", body


def test_an_answer_cut_by_the_stores_time_limit_is_an_error_not_rows(pushed: str) -> None:
    """Virtuoso's "anytime query": with a time limit (here ``timeout=1000`` ms in the store's URL; a server's
    ``ExecutionTimeout`` does the same) it answers HTTP 200 with the rows found so far and ``X-SQL-State: S1TAT``.
    Regression: every reader of the store took those rows as the answer (a count of 0 here). Now each says the answer
    is incomplete; a query within the limit answers as before. (Under load Virtuoso sometimes gives the same request
    a 500 instead, "SR203: Async statement killed by SQLCancel": an error too, which each reader passes on.)"""
    from kg.api.remote_backend import RemoteDataset, RemoteUnavailable
    from kg.api.remote_site import SiteStore
    from kg.query.remote import StoreUnavailable

    limited = pushed + "?timeout=1000"
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    raw = httpx.post(limited, data={"query": heavy}, headers={"Accept": "application/sparql-results+json"}, timeout=60)
    assert raw.status_code == 200 and raw.headers.get("X-SQL-State") == "S1TAT"  # what Virtuoso does
    cut = "only part of the answer|SR203: Async statement killed"
    with pytest.raises(RemoteError, match=cut):
        RemoteStore(limited).select(heavy)
    with pytest.raises(StoreUnavailable, match=cut):
        SiteStore(limited).query(heavy)
    with pytest.raises(RemoteUnavailable, match=cut):
        RemoteDataset(limited).query(heavy)
    small = "SELECT (COUNT(*) AS ?n) WHERE { ?a a <https://w3id.org/remit/def/Agreement> }"
    assert int(RemoteStore(limited).select(small)[1][0]["n"]["value"]) > 0


@pytest.fixture(scope="module")
def served(pushed: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``kg serve --store`` on Virtuoso's /sparql."""
    s = start_server(pushed, tmp_path_factory.mktemp("virtuoso-serve"), **ENV)  # type: ignore[arg-type]
    yield s
    stop_server(s)


def test_serve_answers_sparql_like_the_embedded_store(embedded: Server, served: Server) -> None:  # noqa: F811
    from rdflib import Graph
    from rdflib.compare import isomorphic
    from SPARQLWrapper import CSV, JSON, TSV, TURTLE, XML

    for query in (FEW_BODIES, SETTINGS):  # SETTINGS is longer than the row limit: both cut it the same way
        for fmt in (JSON, XML, CSV, TSV):
            mine, mine_headers = _ask(embedded, query, fmt)
            theirs, their_headers = _ask(served, query, fmt)
            assert theirs.replace(served.url.encode(), b"X") == mine.replace(embedded.url.encode(), b"X"), (query, fmt)
            assert their_headers.get("remit-result-truncated") == mine_headers.get("remit-result-truncated")
    mine, _ = _ask(embedded, CONSTRUCT, TURTLE)
    theirs, _ = _ask(served, CONSTRUCT, TURTLE)
    g1, g2 = Graph().parse(data=mine, format="turtle"), Graph().parse(data=theirs, format="turtle")
    assert len(g2) == 12 and isomorphic(g1, g2)
    r = httpx.post(served.sparql, data={"query": "DROP ALL"}, timeout=30)
    assert r.status_code == 400  # read-only in front of the store too


def test_serve_answers_named_queries_like_the_embedded_store(embedded: Server, served: Server) -> None:  # noqa: F811
    compared = 0
    for name, params in (("agreements", {}), ("devolved-boundary", {}), ("contacts", {"asOf": "2026-01-01"})):
        for page in ({"limit": "1000"}, {"limit": "3", "offset": "2"}):
            mine = httpx.get(f"{embedded.url}/queries/{name}", params={**params, **page, "format": "json"}, timeout=60)
            theirs = httpx.get(f"{served.url}/queries/{name}", params={**params, **page, "format": "json"}, timeout=60)
            assert mine.status_code == theirs.status_code == 200, (name, theirs.text)
            a, b = mine.json(), theirs.json()
            assert b["head"] == a["head"] and b["page"] == a["page"], name
            assert _normalise(b["results"]["bindings"]) == _normalise(a["results"]["bindings"]), name
            compared += len(a["results"]["bindings"])
    assert compared > 20
    csv = httpx.get(f"{served.url}/queries/agreements", params={"format": "csv"}, timeout=60)
    assert csv.status_code == 200 and csv.text.lstrip("\ufeff").startswith("agreement,")


def test_pages_over_virtuoso(embedded: Server, served: Server) -> None:  # noqa: F811
    """The publication over Virtuoso (kg.api.remote_site; the full comparison is test_remote_pages.py on an
    Oxigraph server): every kind of page is the embedded store's, byte for byte (the network page since
    `leads` words its lead in each row, 2026-12-03: Virtuoso gave no leadLabel where no lead is named). Regression: until 2026-12-03
    the home page, the matrix and its cells, body, setting, place and network pages were a 502 on Virtuoso
    (its compiler failed on ``overlaps``' lead column, "SQ156 Bad dfe", and it refused the network page's
    sorted LIMIT of 10,000,001 rows, "SR353"). pyLODE's ontology page (and so the anchors of links to
    ontology terms) is the same since the ontology's triples reach it in one order whatever the store."""
    def get(server: Server, path: str) -> httpx.Response:
        return httpx.get(server.url + path, timeout=180, headers={"Accept": "text/html"})

    matrix, places = get(embedded, "/matrix.html").text, get(embedded, "/places/index.html").text
    cells = sorted(set(re.findall(r'href="(matrix/[^"]+\.html)"', matrix)))[:2]
    place_pages = sorted(p for p in set(re.findall(r'href="([^"/]+/[^"/]+\.html)"', places)))[:2]
    assert cells and place_pages
    paths = ["/index.html", "/matrix.html", "/network.html", "/charts/overlaps.html", "/places/index.html",
             "/agreements.html", "/bodies.html", "/ui", "/context.jsonld", "/def.html",
             "/id/body/synth-body-0001.html", "/id/setting/synth-setting-000001.html",
             *("/" + c for c in cells), *("/places/" + p for p in place_pages)]
    differ = {}
    for path in paths:
        mine, theirs = get(embedded, path), get(served, path)
        assert mine.status_code == 200, path
        assert theirs.status_code == 200, (path, theirs.text[:300])
        if theirs.text != mine.text:
            differ[path] = next((a, b) for a, b in zip(mine.text.splitlines(), theirs.text.splitlines()) if a != b)
    assert differ == {}
    # an agreement page runs reviews-due and works out its review paragraph from the stored interval. Regressions:
    # until 2026-12-04 Virtuoso refused reviews-due (SQ199) and the page said that this one question had no answer
    # there; then it answered, but with the interval as Virtuoso keeps it, a number of months (the table's "12",
    # and a paragraph with "every 12" and no review date), until kg.query.remote.adapt_value gave durations back
    # as durations. The review paragraph and the reviews table are now the embedded store's. (The rest of an
    # agreement page differs where a citation node is in two graphs: this push is without --update, which
    # splits it, docs/deploy.md.)
    def review(text: str) -> tuple[str, str]:
        para = re.search(r'<p class="govuk-body">[^\n]*?(?:Review|review)[^\n]*?</p>', text)
        table = re.search(r'<section aria-labelledby="nq-reviews-due">.*?</section>', text, re.S)
        assert para and table, "no review paragraph or reviews-due table"
        return para.group(0), table.group(0)

    for n in ("00001", "00002"):
        path = f"/id/agreement/synth-agreement-{n}.html"
        mine, theirs = get(embedded, path), get(served, path)
        assert theirs.status_code == 200, (path, theirs.text[:300])
        assert STORE_REFUSED not in html.unescape(theirs.text) and "127.0.0.1" not in theirs.text
        assert "Its answer: 1 row<" in review(mine.text)[1] and "due 20" in review(mine.text)[0]
        assert review(theirs.text) == review(mine.text), path
    assert not [line for line in served.log.read_text().splitlines() if "refused the named query" in line]
    r = httpx.get(served.url + "/id/body/no-such-body", timeout=60, headers={"Accept": "text/plain"})
    assert r.status_code == 404


def test_the_virtuoso_adapter_keeps_the_meaning() -> None:
    """The rewrites of kg.query.remote.adapt_query, as text (the store tests above show their effect)."""
    text = ("SELECT * WHERE { { SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?a LIMIT 1000000000000 # @page\n }\n"
            " OPTIONAL { ?a ?q ?b } OPTIONAL { ?b ?q ?b1 } OPTIONAL { ?b ?q ?b2 }"
            " FILTER(COALESCE(sameTerm(?b, ?b1) || sameTerm(?b, ?b2), true)) FILTER(!sameTerm(?a, ?b))"
            ' BIND("COALESCE(sameTerm(?x, ?y), true) LIMIT 10000000000" AS ?s) } LIMIT 5')
    out = adapt_query(text, "virtuoso")
    # the idiom's guard, and its disjunction with each call as IF(isIRI(…), … = …, sameTerm(…)) (Virtuoso kept no
    # row for a disjunction of sameTerm calls with a parameter given: unremade-agreements for a body)
    assert ("IF(BOUND(?b) && BOUND(?b1) && BOUND(?b2), IF(isIRI(?b), ?b = ?b1, sameTerm(?b, ?b1))"
            " || IF(isIRI(?b), ?b = ?b2, sameTerm(?b, ?b2)), true)") in out
    assert "FILTER(!sameTerm(?a, ?b))" in out and out.endswith("LIMIT 5")
    # the keys sub-select's "no limit" marker and its ORDER BY, which means nothing without a limit (with it, Virtuoso
    # dropped a whole key of powers-without-agreement by the plan it compiled); the outer order and LIMIT stay
    assert "LIMIT 1000000000000" not in out and "@page" not in out and "ORDER BY ?a" not in out
    assert '"COALESCE(sameTerm(?x, ?y), true) LIMIT 10000000000"' in out  # strings untouched
    assert adapt_query(text, "standard") == text
    # the dates-to-the-precision-given idiom: SUBSTR never gets a NULL length, the comparison is unbound
    # where the date is (Virtuoso makes SUBSTR(STR(?unbound), 1, 10) an empty string, not NULL)
    date = 'FILTER(COALESCE(SUBSTR(STR(?from), 1, 10) <= SUBSTR(?day, 1, STRLEN(SUBSTR(STR(?from), 1, 10))), true))'
    assert adapt_query(date, "virtuoso") == (
        "FILTER(COALESCE(IF(COALESCE(STRLEN(SUBSTR(STR(?from), 1, 10)), -1) >= 0, SUBSTR(STR(?from), 1, 10) <= "
        "SUBSTR(?day, 1, COALESCE(STRLEN(SUBSTR(STR(?from), 1, 10)), 0)), ?remit_adapter_unbound), true))")
    # not when the other operand is not the same expression, or is part of a sum, or in a string
    for other in ('FILTER(?y < SUBSTR(?d, 1, STRLEN(?w)))', 'FILTER(1 + STR(?w) < SUBSTR(?d, 1, STRLEN(STR(?w))))',
                  'BIND("STR(?w) < SUBSTR(?d, 1, STRLEN(STR(?w)))" AS ?s)'):
        assert adapt_query(other, "virtuoso") == other


#: small graphs for the sameTerm rewrites: IRIs, blank nodes, and literals that are, and are not, "" or "a"
#: as a simple literal (xsd:string), with a language tag, another datatype
SAME_TERM_GRAPHS = (
    '<http://e/s> <http://e/p> "" , "a" , "a"@en , "a"^^<http://www.w3.org/2001/XMLSchema#token> , 1 ,'
    ' <http://e/o> , _:b .',
    '<http://e/s> <http://e/p> "" . <http://e/t> <http://e/p> <http://e/s> . <http://e/t> <http://e/q> "x"@en .',
    '<http://e/s> <http://e/q> "a"^^<http://www.w3.org/2001/XMLSchema#string> .',
)

#: queries whose rewritten text (adapt_query, "virtuoso") must give the same rows as the original
SAME_TERM_QUERIES = (
    # a variable nothing binds (an optional parameter not given), in the idiom, under !, and as a value
    "SELECT ?s ?o ?body WHERE { ?s ?p ?o FILTER(COALESCE(sameTerm(?body, ?s) || sameTerm(?body, ?o), true)) }"
    " GROUP BY ?s ?o ?body",
    "SELECT ?s ?o WHERE { ?s ?p ?o FILTER(!sameTerm(?body, ?s)) }",
    "SELECT ?s ?o WHERE { ?s ?p ?o FILTER(sameTerm(?body, ?s)) }",
    "SELECT ?s ?o ?t WHERE { ?s ?p ?o BIND(sameTerm(?o, $body) AS ?t) }",
    "SELECT ?s ?o ?t WHERE { ?s ?p ?o BIND(COALESCE(sameTerm(?body, ?o), sameTerm(?o, ?s) || true) AS ?t) }",
    # a simple literal
    'SELECT ?s ?o WHERE { ?s ?p ?o FILTER(sameTerm(?o, "")) }',
    'SELECT ?s ?o WHERE { ?s ?p ?o FILTER(COALESCE(sameTerm(?o, "a") || sameTerm(?x, ?o), true)) }',
    "SELECT ?s ?o WHERE { ?s ?p ?o FILTER(sameTerm('a', ?o)) }",
    'SELECT ?s ?o ?t WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?x } BIND(sameTerm(?x, "a") AS ?t) }',
    'SELECT ?s ?o ?k WHERE { ?s ?p ?o'
    ' BIND(IF(sameTerm(?o, ""), "empty", IF(sameTerm(?o, """a"""), "a", "other")) AS ?k) }',
    'SELECT ?s ?o WHERE { ?s ?p ?o FILTER(!sameTerm(?o, "a") && isLiteral(?o)) }',
    # a UNION branch that is a VALUES block alone
    'SELECT ?s ?o WHERE { { ?s ?p ?o } UNION { VALUES ?o { "" "a" } }'
    ' UNION { VALUES (?s ?o) { (<http://e/s> UNDEF) } } }',
    'SELECT ?o (COUNT(*) AS ?n) WHERE { { VALUES ?o { "" } } UNION { ?s ?p ?o } } GROUP BY ?o',
)


def _rows(store: ox.Store, query: str) -> list[str]:
    solutions = store.query(query)
    names = solutions.variables
    return sorted(repr([(v.value, None if r[v] is None else str(r[v])) for v in names]) for r in solutions)


def test_the_same_term_adapters_keep_the_meaning() -> None:
    """kg.query.remote's rewrites for Virtuoso of sameTerm (with a variable nothing binds; with a simple
    literal) and of a UNION branch that is a VALUES block alone give the same rows as the query as written, on
    the embedded store (test_virtuoso_departs_so shows what each is for)."""
    from kg.query.remote import unbound_variables

    for graph in SAME_TERM_GRAPHS:
        store = ox.Store()
        store.load(graph.encode(), format=ox.RdfFormat.TURTLE)
        for query in SAME_TERM_QUERIES:
            adapted = adapt_query(query, "virtuoso")
            assert adapted != query, query
            assert "sameTerm(?body" not in adapted and 'sameTerm(?o, "")' not in adapted
            assert "UNION { VALUES" not in adapted and not re.search(r"\{ VALUES[^}]*\} \} UNION", adapted)
            assert _rows(store, adapted) == _rows(store, query), (graph, query, adapted)
    # what counts as bound: a triple pattern, VALUES, AS, GRAPH, a pattern inside EXISTS; not a projection,
    # GROUP BY, ORDER BY, or an expression
    assert unbound_variables(
        "SELECT ?a ?u (COUNT(?v) AS ?n) WHERE { ?a ?p ?o . GRAPH ?g { ?o ?q ?c } VALUES ?w { 1 } BIND(?u AS ?x)"
        " FILTER(BOUND(?u) || EXISTS { ?a ?p ?e } || sameTerm(?u, ?f)) OPTIONAL { ?a ?r ( ?l ) } }"
        " GROUP BY ?a ?u ORDER BY DESC(?z)") == {"u", "v", "f", "z"}
    assert unbound_variables("SELECT ?a ?t WHERE { ?a ?p ?o FILTER(?t) } GROUP BY ?a ?t VALUES ?t { 1 }") == set()
    assert adapt_query("SELECT ?s WHERE { ?s ?p ?o FILTER(!sameTerm(?free, ?s)) }", "virtuoso") == (
        "SELECT ?s WHERE { ?s ?p ?o FILTER(!(?free = ?s)) }")
    assert adapt_query('SELECT * WHERE { ?s ?p ?v FILTER(sameTerm(?v, "") || sameTerm("a", ?v)) }', "virtuoso") == (
        'SELECT * WHERE { ?s ?p ?v FILTER((isLiteral(?v) && LANG(?v) = "" && '
        'DATATYPE(?v) = <http://www.w3.org/2001/XMLSchema#string> && '
        'STR(?v) = "") || (isLiteral(?v) && LANG(?v) = "" && DATATYPE(?v) = '
        '<http://www.w3.org/2001/XMLSchema#string> && STR(?v) = "a")) }')
    # a VALUES block that is not a whole UNION branch, or is not alone in it, is left as it is
    for other in ('SELECT * WHERE { { VALUES ?o { 1 } } ?s ?p ?o }',
                  'SELECT * WHERE { { VALUES ?o { 1 } ?s ?p ?o } UNION { ?o ?p ?s } }'):
        assert adapt_query(other, "virtuoso") == other
    # a parameter given (its VALUES block) is bound: the call is left as it is
    given = 'SELECT ?s WHERE { VALUES (?body) { (<http://e/s>) } ?s ?p ?o FILTER(!sameTerm(?body, ?s)) }'
    assert adapt_query(given, "virtuoso") == given
    # literals with a language tag or datatype, and strings that merely look like calls, are left alone
    for other in ('FILTER(sameTerm(?o, "a"@en))', 'FILTER(sameTerm(?o, "1"^^<http://e/d>)) ?o ?p ?q',
                  'BIND("sameTerm(?o, \'\')" AS ?s) ?s ?p ?o'):
        query = f"SELECT * WHERE {{ ?o ?p ?q {other} }}"
        assert adapt_query(query, "virtuoso") == query


#: queries whose CONCAT or MINUS rewrite (adapt_query, "virtuoso") must give the same rows as the original
CONCAT_MINUS_QUERIES = (
    # CONCAT with an argument that may be unbound: an error in SPARQL, which COALESCE turns into ""
    'SELECT ?s ?r WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?x } BIND(COALESCE(CONCAT(STR(?x), ", "), "") AS ?r) }',
    'SELECT ?s ?r WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?x } BIND(CONCAT(?x, "-", STR(COALESCE(?x, ?o))) AS ?r) }',
    'SELECT ?s ?r WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?x } BIND(REPLACE(CONCAT(COALESCE(CONCAT(STR(?x), ", "), ""),'
    ' COALESCE(CONCAT(STR(?o), ", "), "")), ", $", "") AS ?r) }',
    'SELECT ?s (GROUP_CONCAT(DISTINCT COALESCE(CONCAT(STR(?x), " | "), ""); separator="") AS ?r) WHERE { ?s ?p ?o'
    ' OPTIONAL { ?o ?q ?x } } GROUP BY ?s',
    # a disjunction of sameTerm calls with a parameter given, and IF on a comparison with a variable maybe unbound
    'SELECT ?s ?o WHERE { VALUES ?b { <http://e/s> } ?s ?p ?o FILTER(sameTerm(?b, ?o) || sameTerm(?b, ?s)) }',
    'SELECT ?s ?o WHERE { VALUES ?b { "" } ?s ?p ?o FILTER(sameTerm(?b, ?o) || sameTerm(?s, ?b)) }',
    'SELECT ?s ?k WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?x } BIND(IF(?x = "x", "a", IF(?o != ?x, "b", "c")) AS ?k) }',
    # a MINUS group opened by a one-row VALUES block (the parameters' block)
    'SELECT ?s ?o WHERE { VALUES (?a ?b) { (<http://e/s> UNDEF) } BIND(1 AS ?one) ?s ?p ?o'
    ' MINUS { VALUES (?a ?b) { (<http://e/s> UNDEF) } ?a ?p ?o } }',
    'SELECT ?s ?o WHERE { VALUES (?a ?l) { (<http://e/t> "x)"@en) } BIND(1 AS ?one) ?s ?p ?o'
    ' MINUS { VALUES (?a ?l) { (<http://e/t> "x)"@en) } ?s ?q ?l } }',
)


def test_the_concat_and_minus_adapters_keep_the_meaning() -> None:
    """kg.query.remote's rewrites for Virtuoso of a disjunction of sameTerm calls (_same_term_disjunctions), of IF on
    a comparison with a variable (guarded with BOUND: Virtuoso made the comparison false and took the else branch,
    leads' kind "" for unbound), of CONCAT (each argument that may be unbound guarded, so the call is
    unbound, not a concatenation of the other parts: Virtuoso 7.2.5 takes a NULL argument as "") and of a MINUS
    group opened by a one-row VALUES block (sent as BINDs: Virtuoso 7.2.5 removed nothing with a block of two
    variables when the outer group had a BIND, gaps' 20 rows for 9) give the query's own rows on the embedded store."""
    for graph in SAME_TERM_GRAPHS:
        store = ox.Store()
        store.load(graph.encode(), format=ox.RdfFormat.TURTLE)
        for query in CONCAT_MINUS_QUERIES:
            adapted = adapt_query(query, "virtuoso")
            assert adapted != query, query
            assert _rows(store, adapted) == _rows(store, query), (graph, query, adapted)
    assert adapt_query('BIND(IF(?k = 3, "a", IF(?a <= ?b, 1, 2)) AS ?r)', "virtuoso") == (
        'BIND(IF(BOUND(?k), IF(?k = 3, "a", IF(BOUND(?a), IF(BOUND(?b), IF(?a <= ?b, 1, 2), ?b), ?a)), ?k) AS ?r)')
    assert adapt_query('BIND(IF(BOUND(?k) && ?k = 3, 1, 2) AS ?r)', "virtuoso") == 'BIND(IF(BOUND(?k) && ?k = 3, 1, 2) AS ?r)'
    # the guards: BOUND for ?v and STR(?v), STRLEN for any other argument, none for a literal or a COALESCE
    # ending in one; nested calls innermost first
    assert adapt_query('BIND(CONCAT(STR(?a), ", ", ?b, COALESCE(?c, "")) AS ?r)', "virtuoso") == (
        'BIND(IF(BOUND(?a) && BOUND(?b), CONCAT(STR(?a), ", ", ?b, COALESCE(?c, "")), ?remit_adapter_unbound) AS ?r)')
    assert adapt_query('BIND(CONCAT(COALESCE(CONCAT(", ", STR(COALESCE(?a, ?b))), ""), "x") AS ?r)', "virtuoso") == (
        'BIND(CONCAT(COALESCE(IF(COALESCE(STRLEN(STR(COALESCE(?a, ?b))), -1) >= 0, CONCAT(", ", STR(COALESCE(?a, ?b))),'
        ' ?remit_adapter_unbound), ""), "x") AS ?r)')
    assert adapt_query('SELECT (GROUP_CONCAT(?x) AS ?g) WHERE { BIND("CONCAT(?x)" AS ?y) }', "virtuoso") == (
        'SELECT (GROUP_CONCAT(?x) AS ?g) WHERE { BIND("CONCAT(?x)" AS ?y) }')
    assert adapt_query('SELECT * WHERE { ?s ?p ?o MINUS { VALUES (?a ?b ?c) { (<x> "y)"^^<http://d> UNDEF) }'
                       ' ?a ?p ?b } }', "virtuoso") == (
        'SELECT * WHERE { ?s ?p ?o MINUS { BIND(<x> AS ?a) BIND("y)"^^<http://d> AS ?b)  ?a ?p ?b } }')
    # a VALUES block that does not open the MINUS group, or has two rows, is left as it is
    for other in ('SELECT * WHERE { ?s ?p ?o MINUS { ?a ?p ?b VALUES (?a ?b) { (<x> <y>) } } }',
                  'SELECT * WHERE { ?s ?p ?o MINUS { VALUES (?a ?b) { (<x> <y>) (<z> <w>) } ?a ?p ?b } }'):
        assert adapt_query(other, "virtuoso") == other


def test_virtuoso_durations_are_given_back_as_the_embedded_store_writes_them() -> None:
    """kg.query.remote.adapt_value: Virtuoso's month count n is the duration Oxigraph writes for "P{n}M"."""
    from kg.query.remote import adapt_results, adapt_value

    dur = "http://www.w3.org/2001/XMLSchema#duration"
    for n in range(-30, 40):
        lexical = f"-P{-n}M" if n < 0 else f"P{n}M"
        canonical = next(iter(ox.Store().query(f'SELECT (STR("{lexical}"^^<{dur}>) AS ?d) WHERE {{}}')))["d"].value
        assert adapt_value(str(n), dur, "virtuoso") == canonical, n
    # only an integer with that datatype, only for Virtuoso
    assert adapt_value("P1Y", dur, "virtuoso") == "P1Y" and adapt_value("1.5", dur, "virtuoso") == "1.5"
    assert adapt_value("12", dur, "standard") == "12"
    assert adapt_value("12", "http://www.w3.org/2001/XMLSchema#integer", "virtuoso") == "12"
    data = {"head": {"vars": ["d", "n"]}, "results": {"bindings": [
        {"d": {"type": "typed-literal", "datatype": dur, "value": "18"},
         "n": {"type": "typed-literal", "datatype": "http://www.w3.org/2001/XMLSchema#integer", "value": "18"}}]}}
    row = adapt_results(data, "virtuoso")["results"]["bindings"][0]
    assert (row["d"]["value"], row["n"]["value"]) == ("P1Y6M", "18")


class _EmbeddedAsVirtuoso(RemoteStore):
    """The remote path (parameters bound with VALUES, the Virtuoso adapters, the page as LIMIT/OFFSET) answered
    by the embedded store: the adapted query must mean what the query means."""

    def __init__(self, store: ox.Store):
        super().__init__("http://embedded.invalid/sparql", dialect="virtuoso")
        self.store = store

    def _run(self, query: str, default_graph) -> dict:  # type: ignore[no-untyped-def]
        from kg.query.registry import term_to_json
        from kg.rdf.store import default_graph_nodes

        graphs = [ox.NamedNode(g) for g in default_graph] if default_graph is not None else default_graph_nodes()
        res = self.store.query(query, default_graph=graphs)
        names = [v.value for v in res.variables]
        return {"head": {"vars": names}, "results": {"bindings": [
            {n: term_to_json(sol[n]) for n in names if sol[n] is not None} for sol in res]}}


def test_adapted_named_queries_mean_what_they_say(built: Path) -> None:  # noqa: F811
    """Every named query as kg.query.remote sends it to Virtuoso (bound, adapted, paged), run on the embedded
    store, gives the embedded store's rows: with no optional parameter, and with each one the sample has."""
    embedded = ox.Store()
    embedded.load(path=str(built), format=ox.RdfFormat.TRIG)
    registry = load_queries(ROOT / "queries")
    body = next(iter(embedded.query("SELECT ?b WHERE { GRAPH ?g { ?a <https://w3id.org/remit/def/party> ?b } }"
                                    " ORDER BY ?b LIMIT 1")))[0].value
    sample = {**sample_overlap(embedded), **_sample_establishment(embedded), "body": body}
    adapted = _EmbeddedAsVirtuoso(embedded)
    compared = changed = 0
    for name, nq in sorted(registry.items()):
        base = {"asOf": "2026-01-01"} if any(p.name == "asOf" for p in nq.params) else {}
        base.update({p.name: sample[p.name] for p in nq.params if p.required})
        for params in [base] + [{**base, p.name: sample[p.name]} for p in nq.params
                                if not p.required and p.name in sample and p.name != "asOf"]:
            assert _compare(embedded, adapted, nq, params) == "", (name, params)
            compared += 1
        changed += adapt_query(nq.text, "virtuoso") != nq.text
    assert compared > 25 and changed > 10


#: Departures of Virtuoso 7.2.5 that kg.query.remote adapts, each as a small query: what Virtuoso does with
#: the query as written (sent unadapted, dialect "standard"), and the rows SPARQL 1.1 (and the adapted query) give
VIRTUOSO_SMALL_DEPARTURES = (
    # sameTerm with a variable nothing binds (an optional parameter not given), not a FILTER's conjunct: refused
    # where the other side comes from a triple pattern, and answered as if it were true otherwise
    ("SELECT ?o WHERE { ?o a <https://w3id.org/remit/def/Agreement> FILTER(!sameTerm(?free, ?o)) }", "SP031", []),
    ("SELECT ?o WHERE { ?o a <https://w3id.org/remit/def/Agreement> FILTER(sameTerm(?free, ?o) || false) }", "SP031",
     []),
    ("SELECT ?o WHERE { ?s a <https://w3id.org/remit/def/Agreement> FILTER(IF(BOUND(?free), sameTerm(?free, ?s), true))"
     " BIND(1 AS ?o) } LIMIT 1", "SP031", ["1"]),
    ("SELECT ?o WHERE { VALUES ?o { 1 2 } FILTER(!sameTerm(?free, ?o)) }", ["1", "2"], []),
    # sameTerm with a simple literal is false, even for the literal itself
    ('SELECT ?o WHERE { VALUES ?o { "" "a" "a"@en 1 <http://e/a> } FILTER(sameTerm(?o, "") || sameTerm(?o, "a")) }',
     [], ["", "a"]),
    # a UNION branch that is a VALUES block alone: its rows, and here every row, are lost
    ('SELECT ?o WHERE { { BIND("x" AS ?o) } UNION { VALUES ?o { "y" } } UNION { BIND("z" AS ?o) } }', ["x", "z"],
     ["x", "y", "z"]),
    ('SELECT ?o WHERE { { VALUES ?o { "y" } } UNION { BIND("x" AS ?o) } }', [], ["x", "y"]),
    # CONCAT with an unbound argument: the other parts concatenated, not an error (the address ", , " artefacts)
    ('SELECT ?o WHERE { OPTIONAL { <http://e/a> <http://e/b> ?x } BIND(COALESCE(CONCAT(STR(?x), ", "), "none") AS ?o) }',
     [", "], ["none"]),
    # an xsd:duration comes back as its number of months (adapt_results gives the duration back)
    ('SELECT ?o WHERE { VALUES ?o { "P1Y"^^<http://www.w3.org/2001/XMLSchema#duration> '
     '"P1Y6M"^^<http://www.w3.org/2001/XMLSchema#duration> "P6M"^^<http://www.w3.org/2001/XMLSchema#duration> } }',
     ["12", "18", "6"], ["P1Y", "P1Y6M", "P6M"]),
)


def test_virtuoso_departs_so(pushed: str) -> None:
    """Each departure the sameTerm and VALUES adapters handle, on the real Virtuoso: the query as written is
    refused or answered wrongly (when a newer Virtuoso fixes one, this fails: drop the adapter and the doc row),
    and the adapted query gives SPARQL 1.1's rows, as the embedded store does."""
    raw, adapted = RemoteStore(pushed, dialect="standard"), RemoteStore(pushed)
    assert adapted.dialect == "virtuoso"
    for query, departs, rows in VIRTUOSO_SMALL_DEPARTURES:
        if isinstance(departs, str):
            with pytest.raises(RemoteError, match=departs):
                raw.select(query, {}, [])
        else:
            assert sorted(r["o"]["value"] for r in raw.select(query, {}, [])[1]) == departs, query
        assert sorted(r["o"]["value"] for r in adapted.select(query, {}, [])[1]) == rows, query
        if "remit/def" not in query:  # the rest need the pushed graph
            assert sorted(str(r["o"].value) for r in ox.Store().query(query)) == rows, query


def test_reviews_due_answers_on_virtuoso(built: Path, pushed: str) -> None:  # noqa: F811
    """Regression: `reviews-due` computed its dates at query time, which Virtuoso compiled for ~50 s and then
    refused ("SQ199: Maximum size (32767) of a code vector exceeded by 1475585 bytes"). Its dates are now derived
    at build time (queries/derive/50-review-schedule.rq): Virtuoso answers within 5 s with the embedded store's
    rows in the same order, on every status (overdue, due, not due) and at the defaults (the data date, 90 days).
    The review interval too: Virtuoso 7.2.5 keeps an xsd:duration as a number of months (the pushed
    "P1Y"^^xsd:duration comes back as "12"^^xsd:duration), which kg.query.remote.adapt_results gives back as the
    duration (test_virtuoso_departs_so shows the departure itself)."""
    embedded = ox.Store()
    embedded.load(path=str(built), format=ox.RdfFormat.TRIG)
    remote = RemoteStore(pushed, timeout=5)
    nq = load_queries(ROOT / "queries")["reviews-due"]
    statuses: set[str] = set()
    intervals: set[str] = set()
    for params in ({}, {"asOf": "2005-01-01"}, {"asOf": "2026-01-01"}, {"asOf": "2020-06-30", "dueWithinDays": "400"},
                   {"asOf": "2020-06-30", "dueWithinDays": "0"}):
        assert _compare(embedded, remote, nq, params) == "", params
        mine = run_named(embedded, nq, params, 1000, 0)
        intervals |= {r["reviewInterval"]["value"] for r in mine.rows if "reviewInterval" in r}
        statuses |= {r["reviewStatus"]["value"] for r in mine.rows}
    assert {"overdue", "due", "not due"} <= statuses, statuses
    assert intervals, "no review interval in the sample: the duration adapter is not exercised"

"""Each shape against its fixtures: ``tests/shapes/<NodeShape>/valid-*.ttl`` produce no result from the
shape (or its property shapes); ``invalid-*.ttl`` produce exactly the results listed in the sidecar
``invalid-*.expected.ttl``. Adding a fixture file adds a test. And on every fixture ``kg build``'s validator
(kg.pipeline.validate.run_shacl: SHACL-SPARQL constraints on Oxigraph) gives pyshacl's whole report, the
reference (moved here from tests/pipeline/test_validate_sparql.py on 2026-12-06 so that both read one pyshacl
report per fixture: :func:`shapes_harness.fixture_report`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from kg.pipeline.validate import run_shacl

from kg.rdf.namespaces import RSH, SH

from shapes_harness import (
    FIXTURES_DIR, expanded_ontology, expected_results, fixture_paths, fixture_report, node_shapes, results_of,
    shape_family, shapes_graph,
)


def _shape_of(fixture: Path):
    shape = RSH[fixture.parent.name]
    assert shape in node_shapes(), f"{fixture.parent.name} is not a node shape in shapes/"
    return shape


def _show(results) -> str:
    return "\n".join(f"  {n} x {r.show()}" for r, n in sorted(results.items(), key=lambda kv: str(kv[0]))) or "  (none)"


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.stem}" for p in paths]


VALID = fixture_paths("valid")
INVALID = fixture_paths("invalid")


@pytest.mark.parametrize("fixture", VALID, ids=_ids(VALID))
def test_valid_fixture_conforms(fixture: Path) -> None:
    shape = _shape_of(fixture)
    report = fixture_report(fixture)[1]
    got = results_of(report, shape_family(shape))
    assert not got, f"{fixture.relative_to(FIXTURES_DIR)} should conform to {shape.n3()} but got:\n{_show(got)}"


@pytest.mark.parametrize("fixture", INVALID, ids=_ids(INVALID))
def test_invalid_fixture_gives_exactly_the_expected_results(fixture: Path) -> None:
    shape = _shape_of(fixture)
    sidecar = fixture.with_name(fixture.stem + ".expected.ttl")
    assert sidecar.is_file(), f"{fixture.name} has no expectation {sidecar.name}"
    expected = expected_results(sidecar)
    assert expected, f"{sidecar.name} lists no results"
    report = fixture_report(fixture)[1]
    got = results_of(report, shape_family(shape))
    assert got == expected, (
        f"{fixture.relative_to(FIXTURES_DIR)} against {shape.n3()}\nexpected:\n{_show(expected)}\ngot:\n{_show(got)}"
    )
    # Every result carries a plain-English message with its placeholders filled in.
    for r in report.subjects(SH.sourceShape, None):
        if report.value(r, SH.sourceShape) not in shape_family(shape):
            continue
        messages = [m for m in report.objects(r, SH.resultMessage) if isinstance(m, Literal)]
        assert messages, f"a result of {report.value(r, SH.sourceShape).n3()} has no sh:resultMessage"
        for m in messages:
            assert "{?" not in m and "{$" not in m, f"unfilled placeholder in message: {m}"


def test_every_node_shape_has_valid_and_invalid_fixtures() -> None:
    folders = {p.name for p in FIXTURES_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    shapes = {str(s)[len(str(RSH)):] for s in node_shapes()}
    assert folders - shapes == set(), f"fixture folders naming no node shape: {sorted(folders - shapes)}"
    for name in sorted(shapes):
        folder = FIXTURES_DIR / name
        assert any(folder.glob("valid-*.ttl")), f"{name} has no valid-*.ttl fixture"
        assert [p for p in folder.glob("invalid-*.ttl") if not p.name.endswith(".expected.ttl")], \
            f"{name} has no invalid-*.ttl fixture"


def test_every_constraint_is_exercised_by_an_invalid_fixture() -> None:
    """Every property shape, and every SPARQL constraint of every shape, appears in some expectation."""
    g = shapes_graph()
    seen_shapes: set = set()
    seen: set[tuple] = set()
    for fixture in INVALID:
        for r in expected_results(fixture.with_name(fixture.stem + ".expected.ttl")):
            seen_shapes.add(r.shape)
            seen.add((r.shape, r.constraint))
    missing = []
    for node in node_shapes():
        for ps in g.objects(node, SH.property):
            if ps not in seen_shapes:
                missing.append(ps.n3())
            for c in g.objects(ps, SH.sparql):
                if (ps, c) not in seen:
                    missing.append(f"{ps.n3()} {c.n3()}")
        for c in g.objects(node, SH.sparql):
            if (node, c) not in seen:
                missing.append(f"{node.n3()} {c.n3()}")
    assert not missing, "constraints no invalid fixture exercises:\n" + "\n".join(sorted(missing))


def _same(a: Graph, b: Graph) -> None:
    if not isomorphic(a, b):
        _, only_a, only_b = graph_diff(to_isomorphic(a), to_isomorphic(b))
        pytest.fail("reports differ\nonly with Oxigraph:\n" + "\n".join(map(str, sorted(only_a)[:20]))
                    + "\nonly with pyshacl:\n" + "\n".join(map(str, sorted(only_b)[:20])))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fixture", VALID + INVALID, ids=_ids(VALID + INVALID))
def test_shape_fixture_report_is_pyshacls(fixture: Path) -> None:
    """kg.pipeline.validate.run_shacl (SHACL-SPARQL constraints evaluated on Oxigraph) gives exactly pyshacl's
    report (every constraint in pyshacl) on the fixture reasoned as kg build reasons it."""
    closed, reference = fixture_report(fixture)
    _same(run_shacl(closed, shapes_graph(), expanded_ontology()), reference)

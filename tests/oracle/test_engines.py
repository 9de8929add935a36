"""The reference engines as oracles: owlrl + pyshacl (``--reference``) give the same dataset and findings
as the default pipeline (kg.pipeline.reason + kg.pipeline.shacl) on the real data and a 10k synthetic graph;
artefacts are byte-stable, bad input is located, and blank-node labels are content hashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from kg.pipeline.build import BuildError, Layout, build
from kg.pipeline.load import SourceError
from kg.rdf.serialize import blank_node_labels
from kg.ops.synth import synthesize

from support.realbuild import ROOT, ensure_real_build


def canonical(trig: Path) -> set[str]:
    ds = ox.Dataset(ox.parse(path=str(trig), format=ox.RdfFormat.TRIG))
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in ds}


def files(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in ("remit.trig", "report.ttl", "report.json", "manifest.json")}


def same_build(a: Path, b: Path) -> None:
    """Two builds hold the same dataset (isomorphic), findings and counts."""
    qa, qb = canonical(a / "remit.trig"), canonical(b / "remit.trig")
    assert qa == qb, f"only in {a.name}: {sorted(qa - qb)[:5]}\nonly in {b.name}: {sorted(qb - qa)[:5]}"
    assert json.loads((a / "report.json").read_text()) == json.loads((b / "report.json").read_text())
    ma, mb = (json.loads((x / "manifest.json").read_text()) for x in (a, b))
    for key in ("graphs", "triples", "quads", "findings", "conforms", "sourceHash", "ontologyVersion"):
        assert ma[key] == mb[key], key
    assert (a / "remit.trig").read_bytes() == (b / "remit.trig").read_bytes(), "one artefact format whatever the path"


@pytest.fixture(scope="module")
def synth10k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("storebuild")
    return synthesize(tmp / "data", 10_000, seed=1).out


@pytest.fixture(scope="module")
def synth10k_default(synth10k: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The default build of the synthetic graph, made once for the module: its folder and its result."""
    out = tmp_path_factory.mktemp("synth-default") / "default"
    return out, build(Layout(root=ROOT, data=[synth10k], out=out))


def test_engines_agree_on_a_synthetic_graph(synth10k: Path, synth10k_default: tuple[Path, Any], tmp_path: Path) -> None:
    r = build(Layout(root=ROOT, data=[synth10k], out=tmp_path / "reference"), reference=True)
    default, s = synth10k_default
    assert r.manifest["reasoner"].startswith("owlrl") and s.manifest["reasoner"].startswith("kg.pipeline.reason")
    assert s.report is not None and s.report.counts["Violation"] > 0, "the synthetic graph plants gaps"
    assert {k for k in s.timings if "." not in k} == {"load", "reason", "validate", "derive", "write", "store"}
    same_build(tmp_path / "reference", default)


def test_engines_agree_on_the_real_data(tmp_path: Path) -> None:
    """The real data through both engines: the same dataset and the same findings (blank-node citations as
    focus nodes, capitalised language tags and every shape included)."""
    default = ensure_real_build()
    build(Layout(root=ROOT, out=tmp_path / "reference"), reference=True, force=True)
    assert json.loads((default / "manifest.json").read_text())["reasoner"].startswith("kg.pipeline.reason")
    same_build(default, tmp_path / "reference")


def test_artefacts_are_byte_identical(synth10k: Path, synth10k_default: tuple[Path, Any], tmp_path: Path) -> None:
    """A second, forced build of the synthetic graph writes the same bytes as the module's default build."""
    out_a, a = synth10k_default
    b = build(Layout(root=ROOT, data=[synth10k], out=tmp_path / "b"), force=True)
    assert not a.skipped and not b.skipped
    assert files(out_a) == files(tmp_path / "b")
    text = (out_a / "remit.trig").read_text()
    assert "_:b" in text and "urn:x-remit:bnode" not in text


def _tree(tmp_path: Path, extra: str) -> Path:
    """A copy of the real project (sources only) with one extra data file."""
    root = tmp_path / "tree"
    for d in ("ontology", "shapes", "data", "queries"):
        shutil.copytree(ROOT / d, root / d)
    (root / "data" / "zz-extra.ttl").write_text(extra, encoding="utf-8")
    return root


PREFIXES = """@prefix remit: <https://w3id.org/remit/def/> .
@prefix body: <https://w3id.org/remit/id/body/> .
@prefix resp: <https://w3id.org/remit/id/responsibility/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


@pytest.mark.parametrize("extra, expected", [
    (PREFIXES + "body:x remit:dissolved \"2012-13-45\"^^xsd:date .\n",
     r"data/zz-extra\.ttl:5:\d+: ill-typed literal \"2012-13-45\""),
    (PREFIXES + "body:x remit:holder body:y\n", r"data/zz-extra\.ttl:5:27: EOF found after object"),
    (PREFIXES + "body:x nope:thing body:y .\n", r"data/zz-extra\.ttl:5:\d+: unknown prefix nope"),
])
def test_bad_input_is_located_and_loses_nothing(tmp_path: Path, extra: str, expected: str) -> None:
    root = _tree(tmp_path, PREFIXES)
    out = tmp_path / "out"
    build(Layout(root=root, out=out))
    before = files(out)
    (root / "data" / "zz-extra.ttl").write_text(extra, encoding="utf-8")
    with pytest.raises(SourceError, match=expected):
        build(Layout(root=root, out=out))
    assert files(out) == before


def test_inconsistency_names_the_nodes_and_where(tmp_path: Path) -> None:
    """remit:holder is functional: two holders fail the build with the nodes and their places."""
    root = _tree(tmp_path, PREFIXES + "resp:zz-r remit:holder body:cqc, body:hmi-prisons .\n")
    with pytest.raises(BuildError) as err:
        build(Layout(root=root, out=tmp_path / "out"))
    text = str(err.value)
    assert "values of the functional property https://w3id.org/remit/def/holder" in text
    assert "data/zz-extra.ttl:5:1: https://w3id.org/remit/id/responsibility/zz-r is involved" in text
    assert not (tmp_path / "out").exists()


def test_blank_node_labels_depend_only_on_content() -> None:
    """Labels are the same whatever order the quads arrive in; nodes no output can tell apart
    (the same quads) get distinct labels with a suffix; nodes that differ get different labels."""
    g = ox.NamedNode("https://w3id.org/remit/id/graph/asserted")
    ex = "https://example.org/"

    def store(order: list[int]) -> tuple[ox.Store, dict[str, str]]:
        b = [ox.BlankNode() for _ in range(4)]
        quads = [
            ox.Quad(ox.NamedNode(ex + "s"), ox.NamedNode(ex + "p"), b[0], g),
            ox.Quad(b[0], ox.NamedNode(ex + "loc"), ox.Literal("s. 1"), g),
            ox.Quad(ox.NamedNode(ex + "s"), ox.NamedNode(ex + "p"), b[1], g),
            ox.Quad(b[1], ox.NamedNode(ex + "loc"), ox.Literal("s. 2"), g),
            ox.Quad(ox.NamedNode(ex + "t"), ox.NamedNode(ex + "p"), b[2], g),
            ox.Quad(ox.NamedNode(ex + "t"), ox.NamedNode(ex + "p"), b[3], g),
        ]
        st = ox.Store()
        st.extend([quads[i] for i in order])
        labels = blank_node_labels(st)
        return st, {str(q.subject if isinstance(q.subject, ox.BlankNode) else q.object): labels[
            (q.subject if isinstance(q.subject, ox.BlankNode) else q.object).value]
            for q in st if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)}

    _, one = store([0, 1, 2, 3, 4, 5])
    _, two = store([5, 3, 1, 4, 2, 0])
    assert sorted(one.values()) == sorted(two.values())
    assert len(set(one.values())) == 4  # s's two citations differ; t's two are twins, suffixed
    assert sum(1 for v in one.values() if len(v) > 32) == 1


def test_blank_nodes_alike_but_for_their_blank_neighbours_get_different_labels() -> None:
    """Two nodes whose own quads are alike (each links to some blank node) are told apart by the labels
    of the blank nodes they link to; the labels are the same whatever order the quads arrive in."""
    g = ox.NamedNode("https://w3id.org/remit/id/graph/asserted")
    p, v, s = (ox.NamedNode("https://example.org/" + x) for x in ("p", "v", "s"))

    def labels(order: list[int]) -> list[str]:
        x1, x2, c1, c2 = (ox.BlankNode() for _ in range(4))
        quads = [ox.Quad(s, p, x1, g), ox.Quad(s, p, x2, g), ox.Quad(x1, p, c1, g), ox.Quad(x2, p, c2, g),
                 ox.Quad(c1, v, ox.Literal("1"), g), ox.Quad(c2, v, ox.Literal("2"), g)]
        st = ox.Store()
        st.extend([quads[i] for i in order])
        got = blank_node_labels(st)
        return sorted(got[b.value] for b in (x1, x2, c1, c2))

    one = labels([0, 1, 2, 3, 4, 5])
    assert one == labels([5, 4, 3, 2, 1, 0])
    assert len(set(one)) == 4 and all(len(x) == 32 for x in one)


@pytest.mark.parametrize("literal", [
    ox.Literal('a "quoted" word, a back\\slash and a\ttab'), ox.Literal("two\nlines\r"),
    ox.Literal("a line\u2028separator and \x0c form feed"), ox.Literal("Cymraeg: â ŵ ŷ", language="cy"),
    ox.Literal("2024-01-31", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")),
    ox.Literal("   spaces   ")])
@pytest.mark.parametrize("graph", [ox.NamedNode("https://w3id.org/remit/id/graph/asserted"), ox.DefaultGraph()])
def test_a_label_is_the_hash_of_its_lines_whatever_the_literal(literal: ox.Literal, graph: Any) -> None:
    """The definition itself, on literals that need escaping or hold spaces and line separators (the labels
    are made from the store's N-Triples output, split into terms): the SHA-256 of the node's sorted lines,
    each term as pyoxigraph's ``str()`` writes it, the node as ``_:a``, the graph as ``str()`` of it."""
    import hashlib

    s, p, q = (ox.NamedNode("https://example.org/" + x) for x in ("s", "p", "q"))
    b = ox.BlankNode()
    st = ox.Store()
    st.extend([ox.Quad(s, p, b, graph), ox.Quad(b, q, literal, graph)])
    lines = sorted([f"O {graph} {p} {s}", f"S {graph} {q} {literal}"])
    assert blank_node_labels(st) == {b.value: hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]}

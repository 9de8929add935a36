"""The build: artefacts, determinism, skip on unchanged sources, atomic swap, bad input (exit 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, URIRef

from kg import __version__
from kg.pipeline.build import ARTEFACTS, BuildError, Layout, build
from kg.pipeline.load import SourceError
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_DERIVED, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_REPORT

ROOT = Path(__file__).resolve().parents[2]
QC = Path(__file__).parents[1] / "qc"


def make_tree(tmp: Path) -> Path:
    root = tmp / "tree"
    shutil.copytree(QC / "tree", root)
    shutil.copytree(ROOT / "queries" / "qc", root / "queries" / "qc")
    return root


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def kg(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=120)


def test_build_writes_every_artefact(tmp_path):
    root = make_tree(tmp_path)
    result = build(Layout(root=root))
    out = root / "build"
    assert not result.skipped and all((out / a).exists() for a in ARTEFACTS)
    man = json.loads((out / "manifest.json").read_text())
    assert man["version"] == __version__ and man["ontologyVersion"] == "9.9.9"
    assert man["sourceHash"].startswith("sha256:") and len(man["sourceHash"]) == 71
    assert [s["path"] for s in man["sources"]][:2] == ["data/agreements/a.ttl", "data/sources/documents.ttl"]
    assert man["findings"] == {"Violation": 0, "Warning": 0, "Info": 0}
    ds = Dataset()
    ds.parse(out / "remit.trig", format="trig")
    counts = {str(g.identifier): len(g) for g in ds.graphs() if len(g)}
    assert counts == man["graphs"]
    assert set(counts) == {str(GRAPH_ONTOLOGY), str(GRAPH_ASSERTED), str(GRAPH_INFERRED), str(GRAPH_DERIVED),
                           str(GRAPH_REPORT)}
    # a tree without derive rules still gets the one derived triple every build writes: the data date
    # (the latest date its asserted data states), the default asOf of the named queries
    assert [(str(s), str(p)) for s, p, _ in ds.graph(GRAPH_DERIVED)] == [
        ("https://w3id.org/remit/id/dataset", "https://w3id.org/remit/def/dataDate")]
    inferred = ds.graph(GRAPH_INFERRED)
    x = URIRef("https://w3id.org/remit/id/body/x")
    assert (x, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), URIRef("http://www.w3.org/ns/org#Organization")) in inferred
    assert (URIRef("https://w3id.org/remit/id/agreement/a/area/1"), URIRef("https://w3id.org/remit/def/areaOf"),
            URIRef("https://w3id.org/remit/id/agreement/a")) in inferred
    # a citation blank node keeps its identity across graphs (asserted link, inferred super-property)
    cites = set(ds.graph(GRAPH_ASSERTED).objects(x, URIRef("https://w3id.org/remit/def/citation")))
    derived = set(inferred.objects(x, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")))
    assert cites and cites == derived
    store = ox.Store.read_only(str(out / "store"))
    assert len(store) == sum(counts.values()) == man["quads"]
    assert json.loads((out / "report.json").read_text())["conforms"] is True


def test_build_is_byte_identical(tmp_path):
    root = make_tree(tmp_path)
    build(Layout(root=root, out=tmp_path / "one"))
    build(Layout(root=root, out=tmp_path / "two"))
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    for name in ("remit.trig", "report.ttl", "report.json", "manifest.json"):
        assert one[name] == two[name], name
    # and with findings (blank-node report results) too, in a fresh process with another hash seed
    (root / "data" / "extra.ttl").write_text(
        "@prefix remit: <https://w3id.org/remit/def/> .\n"
        "<https://w3id.org/remit/id/agreement/a/area/9> a remit:AreaOfJointWork .\n")
    build(Layout(root=root, out=tmp_path / "three"))
    r = subprocess.run([sys.executable, "-m", "kg.cli", "build", "--out", str(tmp_path / "four")], cwd=root,
                       env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    three, four = snapshot(tmp_path / "three"), snapshot(tmp_path / "four")
    for name in ("remit.trig", "report.ttl", "report.json", "manifest.json"):
        assert three[name] == four[name], name
    assert json.loads(three["manifest.json"])["findings"]["Violation"] >= 1


def test_build_is_skipped_when_unchanged_and_forced_rebuilds(tmp_path):
    root = make_tree(tmp_path)
    assert kg(root, "build").returncode == 0
    r = kg(root, "build")
    assert r.returncode == 0 and "up to date" in r.stdout
    r = kg(root, "build", "--force")
    assert r.returncode == 0 and "built" in r.stdout and "up to date" not in r.stdout
    (root / "data" / "sources" / "documents.ttl").write_text(
        (root / "data" / "sources" / "documents.ttl").read_text() + "\n# changed\n")
    r = kg(root, "build")
    assert "built" in r.stdout and "up to date" not in r.stdout


BAD = {
    "malformed": ('@prefix remit: <https://w3id.org/remit/def/> .\n\n<https://w3id.org/remit/id/x> remit:p "a" \n'
                  '<https://w3id.org/remit/id/y> remit:p "b" .\n', "data/bad.ttl:4:1: expected '.'"),
    "unknown-prefix": ('@prefix remit: <https://w3id.org/remit/def/> .\n<https://w3id.org/remit/id/x> nope:p "a" .\n',
                       "data/bad.ttl:2:31: unknown prefix nope:"),
    "ill-typed-date": ('@prefix remit: <https://w3id.org/remit/def/> .\n'
                       '@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
                       '<https://w3id.org/remit/id/x>\n    remit:signedOn "2012-13-45"^^xsd:date .\n',
                       'data/bad.ttl:4:20: ill-typed literal "2012-13-45": expected a date YYYY-MM-DD for xsd:date'),
}


@pytest.mark.parametrize("case", sorted(BAD) + ["missing-folder"])
def test_bad_input_exits_2_and_keeps_previous_artefacts(tmp_path, case):
    root = make_tree(tmp_path)
    assert kg(root, "build").returncode == 0
    before = snapshot(root / "build")
    if case == "missing-folder":
        r = kg(root, "build", "--force", "--data", "data", "--data", "no-such-folder")
        expected = "no-such-folder: no such directory"
    else:
        text, expected = BAD[case]
        (root / "data" / "bad.ttl").write_text(text)
        r = kg(root, "build", "--force")
    assert r.returncode == 2, r.stdout + r.stderr
    assert expected in r.stderr
    assert "previous artefacts are unchanged" in r.stderr
    assert snapshot(root / "build") == before
    assert [p.name for p in root.iterdir() if p.name.startswith(".build")] == []


def test_served_store_holds_the_dataset_of_remit_trig(tmp_path):
    """The served store is written graph by graph while the pipeline runs (kg.pipeline.served): statements
    without a blank node as each graph is final, those with one in pieces at the end. It holds exactly the
    dataset of ``remit.trig`` (compared canonically), and a blank node in two graphs is one node."""
    root = make_tree(tmp_path)
    build(Layout(root=root))
    out = root / "build"

    def canonical(quads) -> set[str]:
        ds = ox.Dataset(quads)
        ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        return {str(q) for q in ds}

    store = ox.Store.read_only(str(out / "store"))
    trig = ox.parse(path=str(out / "remit.trig"), format=ox.RdfFormat.TRIG)
    assert canonical(store.quads_for_pattern(None, None, None, None)) == canonical(trig)
    shared = store.query(f"""SELECT ?c WHERE {{ GRAPH <{GRAPH_ASSERTED}> {{ ?x <https://w3id.org/remit/def/citation> ?c }}
        GRAPH <{GRAPH_INFERRED}> {{ ?x <http://www.w3.org/ns/prov#wasDerivedFrom> ?c }} FILTER(isBlank(?c)) }}""")
    assert len(list(shared)) == 3


@pytest.mark.parametrize("locator", ["Parties; see _:abc and _:b0 .", "Parties; see _:abc"])
def test_literal_that_reads_like_a_blank_node_is_written_as_it_is(tmp_path, locator):
    """Regression: ``remit.trig`` relabelled every ``_:xyz`` in the N-Triples text, inside literals too, so a
    locator such as "see _:abc" stopped the build with a KeyError (or, had ``abc`` been a blank node's id,
    would have changed the text). Only subjects and objects are blank nodes now. Regression (2026-12-04): a
    literal *ending* in ``_:abc`` was still read as a blank object (its closing quote taken for part of the
    label), and stopped the build with ``KeyError: 'abc"'``."""
    root = make_tree(tmp_path)
    path = root / "data" / "agreements" / "a.ttl"
    path.write_text(path.read_text().replace('remit:locator "Parties"', f'remit:locator "{locator}"'))
    build(Layout(root=root))
    trig = (root / "build" / "remit.trig").read_text()
    assert f'"{locator}"' in trig
    ds = Dataset()
    ds.parse(root / "build" / "remit.trig", format="trig")
    locators = {str(o) for _s, _p, o, _g in ds.quads((None, URIRef("https://w3id.org/remit/def/locator"), None, None))}
    assert locator in locators
    store = ox.Store.read_only(str(root / "build" / "store"))
    assert ox.Literal(locator) in {q.object for q in store.quads_for_pattern(None, None, None, None)}


def test_failure_while_writing_keeps_previous_artefacts(tmp_path, monkeypatch):
    root = make_tree(tmp_path)
    build(Layout(root=root))
    before = snapshot(root / "build")
    (root / "data" / "more.ttl").write_text("<https://w3id.org/remit/id/z> <https://w3id.org/remit/def/party> "
                                            "<https://w3id.org/remit/id/body/x> .\n")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr("kg.pipeline.served.ServedStoreWriter._load_plain", staticmethod(boom))
    with pytest.raises(OSError):
        build(Layout(root=root))
    assert snapshot(root / "build") == before
    assert [p.name for p in root.iterdir() if p.name.startswith(".build")] == []


def test_inconsistent_data_fails_naming_the_node(tmp_path):
    root = make_tree(tmp_path)
    (root / "data" / "clash.ttl").write_text(
        "@prefix remit: <https://w3id.org/remit/def/> .\n\n"
        "<https://w3id.org/remit/id/body/x> a remit:Agreement .\n")
    with pytest.raises(BuildError) as exc:
        build(Layout(root=root))
    msg = str(exc.value)
    assert "inconsistent" in msg and "https://w3id.org/remit/id/body/x" in msg
    assert "Disjoint classes" in msg
    r = kg(root, "build")
    assert r.returncode == 2 and "https://w3id.org/remit/id/body/x" in r.stderr


def test_missing_data_file_given_to_validate(tmp_path):
    root = make_tree(tmp_path)
    r = kg(root, "validate", "nowhere.ttl")
    assert r.returncode == 2 and "nowhere.ttl: no such file" in r.stderr
    with pytest.raises(SourceError):
        build(Layout(root=root, data=[root / "nowhere"]))


@pytest.mark.timeout(600)
def test_real_tree_builds(tmp_path):
    """Smoke test: the real sources build (findings allowed) into a temporary folder."""
    try:
        result = build(Layout(root=ROOT, out=tmp_path / "build"), force=True)
    except (SourceError, BuildError) as exc:  # a located bad-input error is a failure of the data, shown
        pytest.fail(f"the real tree does not build: {exc}")
    assert result.manifest["graphs"][str(GRAPH_ONTOLOGY)] > 0
    assert (tmp_path / "build" / "store").is_dir()


# --- the reference switch and the fast loader ---------------------------------------------------------

def test_reference_engines_build_the_same_artefacts(tmp_path):
    """``--reference`` (owlrl + pyshacl) and the default engines (kg.pipeline.reason + kg.pipeline.shacl)
    give byte-identical artefacts; only the manifest's ``reasoner`` and ``validator`` differ. (The test tree's
    shapes get the message they lack: without it the default build, too, validated with pyshacl.)"""
    root = _with_messages(make_tree(tmp_path))
    (root / "data" / "extra.ttl").write_text(  # a finding too, so the reports are compared as well
        "@prefix remit: <https://w3id.org/remit/def/> .\n"
        "<https://w3id.org/remit/id/agreement/a/area/9> a remit:AreaOfJointWork .\n")
    slow = build(Layout(root=root, out=tmp_path / "owlrl"), reference=True)
    fast = build(Layout(root=root, out=tmp_path / "fast"))
    assert slow.manifest["reasoner"].startswith("owlrl") and fast.manifest["reasoner"].startswith("kg.pipeline.reason")
    assert slow.manifest["validator"].startswith("pyshacl") and fast.manifest["validator"].startswith("kg.pipeline.shacl")
    one, two = snapshot(tmp_path / "owlrl"), snapshot(tmp_path / "fast")
    for name in ("remit.trig", "report.ttl", "report.json"):
        assert one[name] == two[name], name
    assert slow.manifest["findings"]["Violation"] >= 1
    r = kg(root, "build", "--force", "--reference", "--out", str(tmp_path / "cli"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "cli" / "manifest.json").read_text())["reasoner"].startswith("owlrl")
    r = kg(root, "build", "--force", "--engine", "rdflib", "--out", str(tmp_path / "cli2"))
    assert r.returncode == 2 and "--engine" in r.stderr, "the engine switch is gone: one pipeline"


def test_fast_reasoner_still_finds_inconsistencies(tmp_path):
    """The fast path checks owl:disjointWith (the test tree's ontology uses it) with owlrl's message, and
    refuses a functional property with two values (owlrl would merge them with owl:sameAs)."""
    root = make_tree(tmp_path)
    (root / "data" / "clash.ttl").write_text(
        "@prefix remit: <https://w3id.org/remit/def/> .\n\n"
        "<https://w3id.org/remit/id/body/x> a remit:Agreement .\n")
    with pytest.raises(BuildError) as exc:
        build(Layout(root=root))
    assert "Disjoint classes" in str(exc.value) and "https://w3id.org/remit/id/body/x" in str(exc.value)
    r = kg(root, "build")
    assert r.returncode == 2 and "Disjoint classes" in r.stderr and "previous artefacts are unchanged" in r.stderr
    with pytest.raises(BuildError) as exc:  # the reference reasoner finds the same clash
        build(Layout(root=root), reference=True)
    assert "Disjoint classes" in str(exc.value) and "https://w3id.org/remit/id/body/x" in str(exc.value)

    from kg.pipeline.reason import inconsistencies
    from rdflib import Graph
    ontology = Graph().parse(data="""@prefix owl: <http://www.w3.org/2002/07/owl#> .
        <https://w3id.org/remit/def/holder> a owl:FunctionalProperty .""", format="turtle")
    data = Graph().parse(data="""<https://w3id.org/remit/id/responsibility/r> <https://w3id.org/remit/def/holder>
        <https://w3id.org/remit/id/body/a>, <https://w3id.org/remit/id/body/b> .""", format="turtle")
    [(message, nodes)] = inconsistencies(ontology, data, Graph())
    assert "functional property https://w3id.org/remit/def/holder" in message and "--reference" in message
    assert URIRef("https://w3id.org/remit/id/responsibility/r") in nodes


def test_an_ontology_the_fast_reasoner_does_not_cover_is_reasoned_by_owlrl(tmp_path):
    """An OWL feature outside kg.pipeline.reason's rules: the pipeline runs the reference reasoner itself."""
    root = make_tree(tmp_path)
    (root / "ontology" / "extra.ttl").write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "<https://w3id.org/remit/def/x> owl:complementOf <https://w3id.org/remit/def/y> .\n")
    from kg.pipeline.load import load_files
    from kg.pipeline.reason import unsupported_features
    ontology, _ = load_files(Layout(root=root).ontology_files)
    assert unsupported_features(ontology) == ["http://www.w3.org/2002/07/owl#complementOf"]
    result = build(Layout(root=root))
    assert result.manifest["reasoner"].startswith("owlrl")



def _with_messages(root: Path) -> Path:
    """The test tree's shapes as Remit writes its own (tests/shapes: every shape a named IRI with a message), so
    kg.pipeline.shacl can run them all: its lead property shape gets a name and the message it lacks. (pyshacl
    copies a blank-node source shape into its report, kg.pipeline.shacl does not; Remit's shapes have none.)"""
    shapes = root / "shapes" / "agreement.shapes.ttl"
    text = shapes.read_text(encoding="utf-8")
    old = "    sh:property [ sh:path remit:leadBody ; sh:minCount 1 ; sh:severity sh:Violation ] .\n"
    assert old in text
    shapes.write_text(text.replace(old, "    sh:property rsh:AreaShape-leadBody .\n"
                                        "rsh:AreaShape-leadBody sh:path remit:leadBody ; sh:minCount 1 ;\n"
                                        "    sh:severity sh:Violation ; sh:message \"names no lead\"@en .\n"),
                      encoding="utf-8")
    return root


def test_shapes_the_fast_validator_does_not_run_are_named_in_the_manifest(tmp_path):
    """Regression (2026-12-04): shapes with something kg.pipeline.shacl does not run send the whole validation to
    pyshacl (at 1M triples, minutes and gigabytes instead of seconds), yet the manifest said the fast validator
    ran. It now names pyshacl and why (here: a shape with no sh:message); with the message, the fast one."""
    root = make_tree(tmp_path)
    manifest = build(Layout(root=root, out=tmp_path / "as-is")).manifest
    assert manifest["validator"].startswith("pyshacl (the shapes use what kg.pipeline.shacl does not run: "), manifest
    assert "no sh:message" in manifest["validator"]
    manifest = build(Layout(root=_with_messages(root), out=tmp_path / "fixed")).manifest
    assert manifest["validator"] == "kg.pipeline.shacl (SHACL core as SPARQL)"


def test_pyoxigraph_parse_gives_rdflibs_graph():
    """kg.pipeline.load parses with pyoxigraph and falls back to rdflib (for located errors); on every Turtle
    file of the project both give the same triples (lexical forms kept) and the same prefixes."""
    from rdflib import Graph
    from rdflib.compare import isomorphic

    import kg.pipeline.load as loader

    files = [p for d in ("ontology", "shapes", "data", "tests", "examples") for p in sorted((ROOT / d).rglob("*.ttl"))]
    assert len(files) > 100
    checked = 0
    for f in files:
        raw = f.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        g = Graph(bind_namespaces="none")
        try:
            with loader.quiet_rdflib():
                g.parse(data=text, format="turtle", publicID=f.resolve().as_uri())
        except Exception:  # noqa: BLE001 - a deliberately bad fixture: the fast parser must defer to rdflib
            assert loader._parse_oxigraph(raw, text, f) is None, f
            continue
        fast = loader._parse_oxigraph(raw, text, f)
        assert fast is not None, f
        assert isomorphic(fast[0], g), f
        assert fast[1] == {p: str(ns) for p, ns in g.namespaces()}, f
        checked += 1
    assert checked > 100


def test_blank_statements_are_loaded_in_pieces_each_node_whole(tmp_path):
    """kg.rdf.serialize.blank_pieces: the statements with a blank node go to the served store in several TriG
    pieces (a parse renames blank nodes, so each node, with its statements in every graph and its blank
    neighbours, must be whole in one piece). Loaded piece by piece they give exactly the original statements."""
    from kg.rdf.serialize import blank_pieces, blank_texts

    src = ox.Store()
    a, b = ox.NamedNode("https://example.org/g/a"), ox.NamedNode("https://example.org/g/b")
    p, q = ox.NamedNode("https://example.org/p"), ox.NamedNode("https://example.org/q")
    nodes = [ox.BlankNode() for _ in range(300)]
    for i, n in enumerate(nodes):
        src.add(ox.Quad(ox.NamedNode(f"https://example.org/x{i}"), p, n, a))
        src.add(ox.Quad(n, q, ox.Literal(f"item {i} see _:{nodes[(i + 1) % 300].value}"), b))
        if i % 7 == 0:  # chains of blank nodes across the two graphs
            src.add(ox.Quad(n, p, nodes[(i + 150) % 300], b if i % 2 else a))
    src.add(ox.Quad(ox.NamedNode("https://example.org/y"), p, ox.Literal("no blank node"), a))
    texts = blank_texts(src)
    pieces = blank_pieces(dict(texts), [a.value, b.value], piece_bytes=2_000)
    assert len(pieces) > 5
    target = ox.Store(str(tmp_path / "store"))
    for piece in pieces:
        target.bulk_load(input=piece, format=ox.RdfFormat.TRIG)

    def canonical(quads) -> set[str]:
        ds = ox.Dataset(quads)
        ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        return {str(quad) for quad in ds}

    blank = [quad for quad in src if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)]
    assert len(target) == len(blank) == 300 * 2 + 43
    assert canonical(target) == canonical(blank)

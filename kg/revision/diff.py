"""``kg diff``: the difference between two versions of an agreement, in the domain's terms.

Each side is a draft file (Turtle, JSON-LD or YAML, parsed by :mod:`kg.revision.draft`) or an agreement already in
the graph (an IRI, ``<IRI>``, a prefixed name such as ``agreement:hmi-probation-cqc-yot``), taken from
the Turtle sources in ``data/`` with its parts and blank-node closures.

The diff names what changed: parties, scope (setting types and functions), dates and status, areas of
joint work added, removed and changed, lead changes (areas and lead rules), contact points, review
terms, and every other part (objectives, principles, commitments …). ``raw=True`` adds the triple-level
difference (:func:`rdflib.compare.graph_diff` on canonicalised graphs, so blank nodes compare by
content).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import graph_diff, to_isomorphic
from rdflib.term import Node

from kg.paths import PROJECT_ROOT
from kg.revision.draft import Draft, DraftError, detect_format, parse_draft, read_text
from kg.rdf.namespaces import RDF, RDFS, REMIT, SKOS, VCARD
from kg.findings.model import label_of, short

__all__ = ["Side", "DiffResult", "load_side", "load_agreement", "diff_graphs", "diff_sides", "render_diff", "DIFF_FORMATS",
           "agreement_subgraph"]

DIFF_FORMATS: tuple[str, ...] = ("text", "json", "markdown")
ROOT = PROJECT_ROOT
_AGREEMENT_TYPES = {REMIT.Agreement, REMIT.MemorandumOfUnderstanding}
_PART_GROUPS = {
    REMIT.areaOfJointWork: "areas", REMIT.leadRule: "leadRules", REMIT.contactPoint: "contacts",
    REMIT.reviewCommitment: "review", REMIT.signature: "signatures",
}
_FIELD_NAMES = {
    RDFS.label: "label", REMIT.status: "status", REMIT.documentDate: "document date", REMIT.validFrom: "valid from",
    REMIT.validUntil: "valid until", REMIT.lastReviewed: "last reviewed", REMIT.supersedes: "supersedes",
    REMIT.jurisdiction: "jurisdiction", REMIT.describedAsRevised: "described as revised", REMIT.party: "parties",
    REMIT.scopeSettingType: "scope setting types", REMIT.scopeFunction: "scope functions",
    REMIT.leadBody: "lead", REMIT.function: "functions", REMIT.settingType: "setting types",
    REMIT.contactPoint: "contacts", REMIT.statement: "statement", REMIT.note: "notes", REMIT.citation: "citations",
    REMIT.reviewInterval: "review interval", REMIT.onRequestOfEitherParty: "on request of either party",
    REMIT.reviewTopic: "review topics", REMIT.informationAsOf: "information as of", REMIT.contactFor: "contact for",
    VCARD.fn: "name", VCARD.title: "title", VCARD.hasTelephone: "telephone", VCARD.hasEmail: "email",
    VCARD.hasAddress: "address", REMIT.signedOn: "signed on", REMIT.signatoryName: "signatory",
}


@dataclass
class Side:
    """One side of a diff: where it came from and its triples."""

    source: str
    graph: Graph
    draft: Optional[Draft] = None


def agreement_subgraph(g: Graph, agreement: URIRef) -> Graph:
    """The agreement, its parts (IRIs under ``agreement/``) and their blank-node closures."""
    out = Graph()
    prefix = str(agreement) + "/"
    todo = [s for s in set(g.subjects()) if s == agreement or (isinstance(s, URIRef) and str(s).startswith(prefix))]
    seen: set[Node] = set()
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        for t in g.triples((s, None, None)):
            out.add(t)
            if isinstance(t[2], BNode):
                todo.append(t[2])
    return out


def load_side(ref: str, root: Path = ROOT, data_dirs: Optional[list[Path]] = None) -> Side:
    """A file (Turtle, JSON-LD, YAML) or an agreement in the graph named by IRI or prefixed name."""
    p = Path(ref)
    if p.exists() or ref.endswith((".ttl", ".yaml", ".yml", ".jsonld", ".json")):
        text = read_text(p)
        d = parse_draft(text, detect_format(ref, text=text), ref)
        return Side(ref, d.graph, d)
    return load_agreement(ref, root, data_dirs)


def load_agreement(ref: str, root: Path = ROOT, data_dirs: Optional[list[Path]] = None,
                   base: Optional[Graph] = None) -> Side:
    """An agreement of the graph (``data/``, or ``base``: an external store's asserted graph) named by IRI,
    ``<IRI>`` or prefixed name, with its parts; never a file."""
    from kg.revision.check import resolve_agreement

    try:
        iri = resolve_agreement(ref)
    except ValueError as exc:
        raise DraftError(ref, f"not a file, an IRI or a prefixed name: {exc}") from None
    from kg.pipeline.build import Layout
    from kg.pipeline.load import load_files

    if base is not None:
        g = base
    else:
        layout = Layout(root=root, data=data_dirs)
        g, _ = load_files(layout.data_files)
    sub = agreement_subgraph(g, iri)
    if len(sub) == 0:
        raise DraftError(ref, f"no agreement {iri} in the graph ({'the store' if base is not None else 'data/'})")
    return Side(short(iri), sub)


def _agreements(g: Graph) -> set[URIRef]:
    found = {s for t in _AGREEMENT_TYPES for s in g.subjects(RDF.type, t) if isinstance(s, URIRef)}
    return found or {s for s in g.subjects(REMIT.party, None) if isinstance(s, URIRef)}


class _Namer:
    def __init__(self, *graphs: Graph):
        self.graphs = graphs

    def __call__(self, node: Node) -> str:
        if isinstance(node, Literal):
            return str(node)
        for g in self.graphs:
            lab = label_of(node, g)
            if lab:
                return f"{lab} ({short(node)})"
        return short(node)


def _bnode_text(g: Graph, node: Node, depth: int = 0) -> str:
    parts = []
    for p, o in sorted(g.predicate_objects(node), key=lambda po: (str(po[0]), str(po[1]))):
        if p == RDF.type:
            continue
        v = _bnode_text(g, o, depth + 1) if isinstance(o, BNode) and depth < 4 else (str(o) if not isinstance(o, BNode) else "…")
        parts.append(f"{_FIELD_NAMES.get(p, short(p))}: {v}")
    return "{" + "; ".join(parts) + "}"


def _props(g: Graph, node: Node, name: _Namer) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for p, o in g.predicate_objects(node):
        key = _FIELD_NAMES.get(p, short(p))
        out.setdefault(key, set()).add(_bnode_text(g, o) if isinstance(o, BNode) else name(o))
    return {k: sorted(v) for k, v in out.items()}


def _changes(before: dict[str, list[str]], after: dict[str, list[str]], skip: set[str] = set()) -> list[dict[str, Any]]:
    out = []
    for k in sorted(set(before) | set(after)):
        if k in skip:
            continue
        b, a = before.get(k, []), after.get(k, [])
        if b != a:
            out.append({"field": k, "before": b, "after": a,
                        "added": sorted(set(a) - set(b)), "removed": sorted(set(b) - set(a))})
    return out


def _parts(g: Graph, agreement: URIRef) -> dict[URIRef, str]:
    """Part IRI -> group name (areas, leadRules, contacts, review, signatures, or the linking property)."""
    out: dict[URIRef, str] = {}
    for p, o in g.predicate_objects(agreement):
        if isinstance(o, URIRef) and (o, None, None) in g and p != RDF.type:
            out.setdefault(o, _PART_GROUPS.get(p, short(p)))
    for area in [o for o, grp in out.items() if grp == "areas"]:
        for cp in g.objects(area, REMIT.contactPoint):
            if isinstance(cp, URIRef):
                out.setdefault(cp, "contacts")
    return out


@dataclass
class DiffResult:
    old: str
    new: str
    agreements: list[dict[str, Any]] = field(default_factory=list)
    raw: Optional[dict[str, list[str]]] = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"old": self.old, "new": self.new, "agreements": self.agreements}
        if self.raw is not None:
            out["raw"] = self.raw
        return out

    @property
    def changed(self) -> bool:
        return any(a["change"] != "unchanged" for a in self.agreements) or bool(
            self.raw and (self.raw["added"] or self.raw["removed"]))


def diff_graphs(old: Graph, new: Graph, old_name: str = "old", new_name: str = "new", raw: bool = False,
                labels: Optional[Graph] = None) -> DiffResult:
    """The domain diff of two graphs holding one or more agreements (matched by IRI; when each side holds
    exactly one agreement they are compared even if their IRIs differ)."""
    name = _Namer(new, old, *( [labels] if labels is not None else []))
    a_old, a_new = _agreements(old), _agreements(new)
    pairs: list[tuple[Optional[URIRef], Optional[URIRef]]] = []
    if len(a_old) == 1 and len(a_new) == 1:
        pairs.append((next(iter(a_old)), next(iter(a_new))))
    else:
        for iri in sorted(a_old | a_new, key=str):
            pairs.append((iri if iri in a_old else None, iri if iri in a_new else None))
    result = DiffResult(old_name, new_name)
    for o, n in pairs:
        result.agreements.append(_diff_agreement(old, new, o, n, name))
    if raw:
        both, only_old, only_new = graph_diff(to_isomorphic(old), to_isomorphic(new))
        result.raw = {"removed": sorted(f"{s.n3()} {p.n3()} {ob.n3()} ." for s, p, ob in only_old),
                      "added": sorted(f"{s.n3()} {p.n3()} {ob.n3()} ." for s, p, ob in only_new)}
    return result


def _diff_agreement(old: Graph, new: Graph, o: Optional[URIRef], n: Optional[URIRef], name: _Namer) -> dict[str, Any]:
    iri = n if n is not None else o
    assert iri is not None
    entry: dict[str, Any] = {"iri": str(iri), "label": label_of(iri, new if n is not None else old) or short(iri)}
    if o is not None and n is not None and o != n:
        entry["oldIri"] = str(o)
    if o is None or n is None:
        entry["change"] = "added" if o is None else "removed"
        return entry
    before, after = _props(old, o, name), _props(new, n, name)
    parts_old, parts_new = _parts(old, o), _parts(new, n)
    part_fields = {_FIELD_NAMES.get(p, short(p)) for p in
                   {p for p, x in old.predicate_objects(o) if x in parts_old} | {p for p, x in new.predicate_objects(n) if x in parts_new}}
    changes = _changes(before, after, skip=part_fields)
    by = {c["field"]: c for c in changes}
    entry["parties"] = {k: by["parties"][k] for k in ("added", "removed")} if "parties" in by else {"added": [], "removed": []}
    entry["scope"] = {f: {k: by[f][k] for k in ("added", "removed")} for f in ("scope setting types", "scope functions") if f in by}
    entry["datesAndStatus"] = [c for c in changes if c["field"] in
                               ("status", "document date", "valid from", "valid until", "last reviewed", "supersedes",
                                "described as revised", "jurisdiction")]
    entry["fields"] = [c for c in changes if c["field"] not in
                       {"parties", "scope setting types", "scope functions"} | {x["field"] for x in entry["datesAndStatus"]}]
    groups: dict[str, dict[str, list[Any]]] = {}
    lead_changes = []
    old_rel = {str(k)[len(str(o)):]: k for k in parts_old}
    new_rel = {str(k)[len(str(n)):]: k for k in parts_new}
    for rel in sorted(set(old_rel) | set(new_rel)):
        po, pn = old_rel.get(rel), new_rel.get(rel)
        group = parts_new.get(pn) if pn is not None else parts_old.get(po)  # type: ignore[arg-type]
        g = groups.setdefault(group or "other", {"added": [], "removed": [], "changed": []})
        label = label_of(pn, new) if pn is not None else label_of(po, old)
        ident = {"iri": str(pn if pn is not None else po), "label": label or short(pn if pn is not None else po)}
        if po is None:
            g["added"].append({**ident, "description": _props(new, pn, name)})
        elif pn is None:
            g["removed"].append(ident)
        else:
            ch = _changes(_props(old, po, name), _props(new, pn, name))
            if ch:
                g["changed"].append({**ident, "changes": ch})
        lb_old = sorted(name(x) for x in old.objects(po, REMIT.leadBody)) if po is not None else []
        lb_new = sorted(name(x) for x in new.objects(pn, REMIT.leadBody)) if pn is not None else []
        if lb_old != lb_new and po is not None and pn is not None:
            lead_changes.append({**ident, "before": lb_old, "after": lb_new})
    entry["parts"] = {k: v for k, v in sorted(groups.items()) if any(v.values())}
    entry["leadChanges"] = lead_changes
    review = groups.get("review", {}).get("changed", [])
    entry["review"] = [c for r in review for c in r["changes"]] + [c for c in changes if c["field"] == "last reviewed"]
    any_change = changes or entry["parts"]
    entry["change"] = "changed" if any_change else "unchanged"
    return entry


def diff_sides(old_ref: str, new_ref: str, raw: bool = False, root: Path = ROOT,
               data_dirs: Optional[list[Path]] = None) -> DiffResult:
    """Load both sides (files or agreements in the graph) and diff them."""
    old = load_side(old_ref, root, data_dirs)
    new = load_side(new_ref, root, data_dirs)
    labels = _label_graph(root, data_dirs)
    return diff_graphs(old.graph, new.graph, old.source, new.source, raw, labels)


def _label_graph(root: Path, data_dirs: Optional[list[Path]] = None, base: Optional[Graph] = None) -> Graph:
    """Labels of everything in the ontology, vocabularies and data (``base`` instead of ``data/`` when given)
    (for readable names)."""
    from kg.pipeline.build import Layout
    from kg.pipeline.load import load_files

    layout = Layout(root=root, data=data_dirs)
    g, _ = load_files(layout.ontology_files + ([] if base is not None else layout.data_files))
    out = Graph()
    for src in (g, base) if base is not None else (g,):
        for p in (SKOS.prefLabel, RDFS.label):
            for t in src.triples((None, p, None)):
                out.add(t)
    return out


# ----------------------------------------------------------------------------------------------- output

def _vals(v: list[str]) -> str:
    return "; ".join(v) if v else "(none)"


def _lines(result: DiffResult, md: bool) -> list[str]:
    h1, h2, h3 = ("# ", "## ", "### ") if md else ("", "", "  ")
    bullet = "- " if md else "    - "
    out = [f"{h1}Diff of {result.old} → {result.new}", ""]
    for a in result.agreements:
        out.append(f"{h2}{a['label']} ({short(URIRef(a['iri']))}): {a['change']}")
        if a["change"] in ("added", "removed", "unchanged"):
            out.append("")
            continue
        if a.get("oldIri"):
            out.append(f"{bullet}IRI changed from {a['oldIri']}")
        sections: list[tuple[str, list[str]]] = []
        p = a["parties"]
        sections.append(("Parties", [f"added {x}" for x in p["added"]] + [f"removed {x}" for x in p["removed"]]))
        scope = []
        for f, v in a["scope"].items():
            scope += [f"{f}: added {x}" for x in v["added"]] + [f"{f}: removed {x}" for x in v["removed"]]
        sections.append(("Scope", scope))
        sections.append(("Dates and status", [_change_text(c) for c in a["datesAndStatus"]]))
        sections.append(("Lead changes", [f"{c['label']}: {_vals(c['before'])} → {_vals(c['after'])}"
                                          for c in a["leadChanges"]]))
        for group, title in (("areas", "Areas of joint work"), ("contacts", "Contact points"),
                             ("review", "Review terms"), ("leadRules", "Lead rules"), ("signatures", "Signatures")):
            g = a["parts"].get(group)
            sections.append((title, _group_lines(g) if g else []))
        for group, g in a["parts"].items():
            if group not in ("areas", "contacts", "review", "leadRules", "signatures"):
                sections.append((f"Other parts ({group})", _group_lines(g)))
        sections.append(("Other fields", [_change_text(c) for c in a["fields"]]))
        for title, lines in sections:
            if lines:
                out.append("")
                out.append(f"{h3}{title}")
                out += [bullet + x for x in lines]
        out.append("")
    if result.raw is not None:
        out.append(f"{h2}Triples (canonical blank nodes): {len(result.raw['removed'])} removed, {len(result.raw['added'])} added")
        if md:
            out.append("")
            out.append("```diff")
        out += [f"- {t}" for t in result.raw["removed"]] + [f"+ {t}" for t in result.raw["added"]]
        if md:
            out.append("```")
    return out


def _change_text(c: dict[str, Any]) -> str:
    if len(c["before"]) <= 1 and len(c["after"]) <= 1:
        return f"{c['field']}: {_vals(c['before'])} → {_vals(c['after'])}"
    parts = [f"added {x}" for x in c["added"]] + [f"removed {x}" for x in c["removed"]]
    return f"{c['field']}: " + "; ".join(parts)


def _group_lines(g: dict[str, list[Any]]) -> list[str]:
    lines = [f"added {x['label']} ({short(URIRef(x['iri']))})" for x in g["added"]]
    lines += [f"removed {x['label']} ({short(URIRef(x['iri']))})" for x in g["removed"]]
    for x in g["changed"]:
        for c in x["changes"]:
            lines.append(f"{x['label']}: {_change_text(c)}")
    return lines


def render_diff(result: DiffResult, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(result.to_json(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if fmt in ("text", "markdown"):
        return "\n".join(_lines(result, fmt == "markdown")).rstrip() + "\n"
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(DIFF_FORMATS)}")


def diff_in_worker(old_ref: str, new_ref: str, raw: bool) -> dict[str, Any]:
    return diff_sides(old_ref, new_ref, raw).to_json()


def run_diff_command(old: str, new: str, fmt: str, raw: bool) -> tuple[int, str, str]:
    """What ``kg diff`` does: (exit code, stdout, stderr); parsing runs in a killable worker."""
    from kg.revision.draft import DraftTimeout, run_isolated
    from kg.settings import get_settings

    if fmt not in DIFF_FORMATS:
        return 2, "", f"error: --format is one of {', '.join(DIFF_FORMATS)}, not {fmt!r}"
    settings = get_settings()
    try:
        data = run_isolated(diff_in_worker, (old, new, raw), settings.check_timeout, settings.check_memory_mb << 20)
    except DraftError as exc:
        return 2, "", f"{exc}\ndiff failed"
    except DraftTimeout as exc:
        return 2, "", f"error: {exc}"
    result = DiffResult(data["old"], data["new"], data["agreements"], data.get("raw"))
    return 0, render_diff(result, fmt), ""


__all__ += ["diff_in_worker", "run_diff_command"]


def _side_in_worker(spec: dict[str, Any], base: Optional[Graph] = None) -> Side:
    """One side sent over HTTP: a draft's text, or an agreement of the graph by IRI or prefixed name. A
    reference is never read as a path (``load_side`` reads files for ``kg diff``): over HTTP that would let a
    client read the server's files."""
    if "ref" in spec:
        return load_agreement(str(spec["ref"]), base=base)
    d = parse_draft(spec["text"], spec["format"], spec.get("name") or "draft")
    return Side(d.name, d.graph, d)


def diff_specs_in_worker(old: dict[str, Any], new: dict[str, Any], raw: bool,
                         store_url: Optional[str] = None) -> dict[str, Any]:
    """Diff two sides given as ``{"text", "format", "name"}`` (a draft) or ``{"ref"}`` (an agreement in the graph).
    With ``store_url`` (``kg serve --store URL``) the graph is the external store's asserted graph (one
    ``CONSTRUCT``, :func:`kg.query.remote.asserted_graph`), not ``data/``."""
    base: Optional[Graph] = None
    if store_url:
        from kg.query.remote import RemoteError, asserted_graph

        try:
            base = asserted_graph(store_url)
        except RemoteError as exc:
            raise DraftError("store", str(exc)) from None
    a, b = _side_in_worker(old, base), _side_in_worker(new, base)
    return diff_graphs(a.graph, b.graph, a.source, b.source, raw, _label_graph(ROOT, base=base)).to_json()


__all__ += ["diff_specs_in_worker"]

"""The restricted graph: named officials and their direct contact details, kept out of the public dataset.

A source may name the person behind a contact point and print their direct line (seed 001, Appendix 1).
Roles, organisations, switchboards and addresses are public and stay in ``data/``; the names and direct
contact details are personal data and live in ``data-restricted/*.ttl`` (:data:`RESTRICTED_DIR`), each
statement hanging off a public contact point by ``remit:namedOfficial``. This step, run by
:func:`kg.pipeline.build.build` after the public pipeline, is the only reader of those files:

* :func:`load_restricted` parses them (errors located like any source) and keeps the statements about
  subjects present in this build's public data (a build of other data, e.g. a test tree, has nothing to
  annex them to), with the blank nodes they reach;
* :func:`check_not_public` refuses the build (:class:`BuildError`) when a restricted name or direct
  contact detail also appears in any public graph, so a copy left in ``data/`` cannot be published;
* :func:`write_restricted` writes them, as named graph ``id:graph/restricted``, to ``restricted.trig``
  (:data:`RESTRICTED_FILE`) with the same sorted N-Triples writer as ``remit.trig``.

Nothing else reads ``restricted.trig``: it is not bulk-loaded into the served store, not in the dumps or
the site, and the server shows it only at ``GET /admin/restricted`` with the admin token
(:mod:`kg.api.admin`). See ``docs/data-protection.md``.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.pipeline.layout import RESTRICTED_DIR, RESTRICTED_FILE, BuildError, Layout
from kg.pipeline.load import load_files
from kg.rdf.canon import to_ox
from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_RESTRICTED, RDFS, REMIT, VCARD
from kg.rdf.serialize import blank_node_labels, write_trig

__all__ = ["RESTRICTED_DIR", "RESTRICTED_FILE", "load_restricted", "personal_values", "check_not_public",
           "write_restricted"]

#: The predicate whose values are public: a signature is public, so a signatory's name may appear there.
_PUBLIC_NAME_PREDICATES = {str(REMIT.signatoryName)}
_CHANNELS = (VCARD.hasTelephone, VCARD.hasEmail)


def _closure(g: Graph, root: Node) -> Graph:
    """``root``'s statements in ``g`` with those of every blank node they reach."""
    out, todo, seen = Graph(), [root], set()
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        for _, p, o in g.triples((s, None, None)):
            out.add((s, p, o))
            if isinstance(o, BNode):
                todo.append(o)
    return out


def load_restricted(layout: Layout, public: ox.Store) -> Graph:
    """The restricted statements whose subject is in ``public``'s asserted graph (with the blank nodes
    they reach); an empty graph when there is no restricted folder. Raises
    :class:`~kg.pipeline.load.SourceError` on bad Turtle, :class:`BuildError` on a blank-node root."""
    g, _ = load_files(layout.restricted_files)
    asserted = ox.NamedNode(str(GRAPH_ASSERTED))
    kept = Graph()
    for root in sorted({s for s in g.subjects() if not isinstance(s, BNode)}, key=str):
        if not isinstance(root, URIRef):
            continue
        if next(iter(public.quads_for_pattern(ox.NamedNode(str(root)), None, None, asserted)), None) is None:
            continue
        for t in _closure(g, root):
            kept.add(t)
    reachable: set[Node] = set()
    for root in {s for s in g.subjects() if isinstance(s, URIRef)}:
        reachable |= {o for o in _closure(g, root).objects() if isinstance(o, BNode)}
    orphans = {s for s in g.subjects() if isinstance(s, BNode)} - reachable
    if orphans:
        raise BuildError(f"{RESTRICTED_DIR}: {len(orphans)} blank node(s) hang off no subject; "
                         "every restricted statement must hang off a public contact point")
    return kept


def personal_values(restricted: Graph) -> tuple[set[str], set[Node]]:
    """The names (``vcard:fn`` of the restricted graph) and the direct contact details (each telephone's
    or email's value and label) it holds."""
    names = {str(o) for o in restricted.objects(None, VCARD.fn)}
    details: set[Node] = set()
    for channel in _CHANNELS:
        for c in restricted.objects(None, channel):
            if isinstance(c, BNode):
                details |= set(restricted.objects(c, VCARD.hasValue)) | set(restricted.objects(c, RDFS.label))
            else:
                details.add(c)
    return names, details


def _variants(value: Node) -> list[Node]:
    if isinstance(value, Literal):
        text = str(value)
        return [Literal(text), Literal(text, lang="en")]
    return [value]


def check_not_public(store: ox.Store, restricted: Graph) -> None:
    """Raise :class:`BuildError` when a restricted name appears in any graph of ``store`` other than as a
    signatory's name, or a restricted direct contact detail appears there at all (exact values: the check
    is an index lookup per value, so it costs nothing at a million triples)."""
    names, details = personal_values(restricted)
    leaks: list[str] = []
    for value in sorted(details, key=str):
        for v in _variants(value):
            for q in store.quads_for_pattern(None, None, to_ox(v), None):  # type: ignore[arg-type]
                leaks.append(f"a restricted contact detail is the value of {q.predicate.value} on {q.subject} "
                             f"in {q.graph_name}")
    for name in sorted(names):
        for v in _variants(Literal(name)):
            for q in store.quads_for_pattern(None, None, to_ox(v), None):  # type: ignore[arg-type]
                if q.predicate.value not in _PUBLIC_NAME_PREDICATES:
                    leaks.append(f"a restricted name is the value of {q.predicate.value} on {q.subject} "
                                 f"in {q.graph_name}")
    if leaks:
        raise BuildError("personal data from " + RESTRICTED_DIR + "/ is also in the public data "
                         "(move it out of data/; see docs/data-protection.md):\n  " + "\n  ".join(sorted(set(leaks))))


def write_restricted(restricted: Graph, path: Path) -> int:
    """Write ``restricted`` as named graph ``id:graph/restricted`` to ``path`` (sorted N-Triples lines,
    content-hash blank-node labels, as ``remit.trig``); return the number of statements."""
    store = ox.Store()
    name = ox.NamedNode(str(GRAPH_RESTRICTED))
    store.extend([ox.Quad(to_ox(s), ox.NamedNode(str(p)), to_ox(o), name)  # type: ignore[arg-type]
                  for s, p, o in restricted])
    write_trig(store, [GRAPH_RESTRICTED], path, blank_node_labels(store))
    return len(store)

"""Byte-stable serialisation of the built dataset: content-hash blank-node labels and sorted statements.

:func:`blank_node_labels` names every blank node of a store by the quads around it (never by the store's
own ids or the order quads were added); :func:`write_trig` writes named graphs as sorted N-Triples lines
under those labels; :func:`serialize_graph` writes one small rdflib graph (the validation report) as
sorted Turtle with canonical labels. Same triples, same bytes.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.rdf.canon import canonical_graphs
from kg.rdf.namespaces import PREFIXES, RDF, XSD

__all__ = ["blank_node_labels", "blank_ntriples", "blank_pieces", "blank_texts", "sorted_lines", "write_trig", "serialize_graph", "serialize_dataset"]


# a blank node in an N-Triples line: the subject at the start, or the object before the final " ." (a literal
# object ends with '"', '"@lang' or '"^^<iri>' before " .", and a label never holds '"', so text inside
# literals, "see _:x" for one, is never touched)
_NT_SUBJECT = re.compile(rb"^_:(\S+)(?= )", re.M)
_NT_OBJECT = re.compile(rb' _:([^\s"]+)(?= \.$)', re.M)  # (its space is matched: a literal start, 4x faster)
# a statement whose subject and object are both blank nodes
_NT_BOTH = re.compile(rb'^_:(\S+) \S+ _:([^\s"]+) \.$', re.M)


_BLANK_TRIPLES = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }"


def blank_ntriples(store: ox.Store, graph: ox.NamedNode | ox.DefaultGraph) -> bytes:
    """The statements of ``graph`` with a blank subject or object, as N-Triples (blank nodes under the store's
    own ids), picked out and written inside the store."""
    return store.query(_BLANK_TRIPLES, default_graph=graph).serialize(format=ox.RdfFormat.N_TRIPLES)


def blank_texts(store: ox.Store) -> dict[str, bytes]:
    """:func:`blank_ntriples` of every graph of ``store``, keyed by the graph's name in N-Triples form
    (``<iri>``; the default graph ``DEFAULT``)."""
    graphs: list[ox.NamedNode | ox.DefaultGraph] = [*store.named_graphs(), ox.DefaultGraph()]
    return {str(g): blank_ntriples(store, g) for g in graphs}


def _blank_quads(texts: Mapping[str, bytes]) -> Iterator[tuple[str, str, str, str]]:
    """``(graph, subject, predicate, object)`` of every statement of ``texts`` (:func:`blank_texts`), each term
    in its N-Triples form. The statements are picked out and written as N-Triples inside the store, then split:
    making Python terms of the 740,000 such quads at 1M triples took longer than the labelling itself."""
    for name, text in texts.items():
        # one "S P O ." a line: subjects and predicates hold no space; an object may, so it is the rest. Split on
        # "\n" only: a literal may hold other line separators (U+2028 …) that N-Triples leaves unescaped.
        for line in text.decode("utf-8").split("\n"):
            if line:
                s, p, o = line[:-2].split(" ", 2)
                yield name, s, p, o


def blank_pieces(texts: dict[str, bytes], graphs: Iterable[str], piece_bytes: int) -> list[bytes]:
    """TriG documents that together hold the statements of ``texts`` (:func:`blank_texts`) in ``graphs`` (IRIs),
    each about ``piece_bytes`` long, with every blank node's statements, in every graph, in one of them, and two
    nodes of one statement in the same one: a parser gives the blank nodes of each document new identifiers, so a
    node split between two would become two. A node goes to the piece of the CRC-32 of its component's smallest
    identifier, so the pieces depend only on the statements. ``texts`` is emptied on the way (each graph's text
    let go once its lines are placed): the memory held is about one graph's lines more than the pieces."""
    graphs = [g for g in graphs if texts.get(f"<{g}>")]
    count = max(1, -(-sum(len(texts[f"<{g}>"]) for g in graphs) // piece_bytes))
    parent: dict[bytes, bytes] = {}

    def root(node: bytes) -> bytes:
        while (up := parent.get(node, node)) != node:
            parent[node] = parent.get(up, up)
            node = up
        return node

    for g in graphs:  # first: the statements that join two blank nodes (an RDF list, a report's results)
        for m in _NT_BOTH.finditer(texts[f"<{g}>"]):
            if (a := root(m.group(1))) != (b := root(m.group(2))):
                parent[max(a, b)] = min(a, b)
    pieces: list[list[bytes]] = [[] for _ in range(count)]
    for g in graphs:
        buckets: list[list[bytes]] = [[] for _ in range(count)]
        for line in texts.pop(f"<{g}>").split(b"\n"):
            if line[:2] == b"_:":
                node = line[2:line.index(b" ")]
            elif m := _NT_OBJECT.search(line):
                node = m.group(1)
            else:
                continue  # the empty last line
            buckets[zlib.crc32(root(node)) % count].append(line)
        for piece, bucket in zip(pieces, buckets):
            if bucket:
                piece += [f"<{g}> {{\n".encode(), b"\n".join(bucket), b"\n}\n"]
        del buckets
    return [b"".join(piece) for piece in pieces if piece]


def blank_node_labels(store: ox.Store, texts: Mapping[str, bytes] | None = None) -> dict[str, str]:
    """A label for every blank node of the store that depends only on the quads around it, never on
    the store's own ids or the order quads were added: the SHA-256 (32 hex digits) of its sorted quads,
    each written as a line with the node itself as ``_:a`` and any other blank node as ``_:z`` (the
    first step of RDFC-1.0). Nodes whose lines are the same are told apart by a second round with their
    blank neighbours' first-round labels in place of ``_:z``; nodes still alike (no output can tell
    them apart) get ``-2``, ``-3`` … appended. Returns ``{store blank node id: label}``.

    The quads that hold a blank node are picked out inside the store (:func:`blank_texts`; ``texts``, when the
    caller has read them already); the lines are made in Python. Hashing in SPARQL too needed an ORDER BY over
    every line and took twice as long."""
    lines: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for g, s, p, o in _blank_quads(blank_texts(store) if texts is None else texts):
        sb, ob = s.startswith("_:"), o.startswith("_:")
        head = f"{g} {p} "
        if sb:
            lines[s[2:]].append(("S " + head + ("_:a" if o == s else "_:z" if ob else o),
                                 o[2:] if ob and o != s else None))
        if ob:
            lines[o[2:]].append(("O " + head + ("_:a" if s == o else "_:z" if sb else s),
                                 s[2:] if sb and s != o else None))

    def digest(texts: list[str]) -> str:
        return hashlib.sha256("\n".join(sorted(texts)).encode("utf-8")).hexdigest()[:32]

    first = {b: digest([t for t, _ in ls]) for b, ls in lines.items()}
    groups: dict[str, list[str]] = defaultdict(list)
    for b, h in first.items():
        groups[h].append(b)
    labels: dict[str, str] = {}
    for h, members in groups.items():
        if len(members) == 1:
            labels[members[0]] = h
            continue
        second: dict[str, list[str]] = defaultdict(list)
        for b in members:
            texts = [t if n is None else t[:-3] + "_:" + first[n] for t, n in lines[b]]
            second[digest(texts)].append(b)
        for h2, twins in sorted(second.items()):
            for i, b in enumerate(sorted(twins)):  # truly alike: which gets which label changes nothing
                labels[b] = h2 if i == 0 else f"{h2}-{i + 1}"
    return labels


def write_trig(store: ox.Store, graphs: Sequence[URIRef], path: Path, labels: dict[str, str]) -> None:
    """Write ``graphs`` of ``store`` as TriG: one block per graph (sorted by name) holding its
    statements as N-Triples lines, sorted, with each blank node written ``_:b`` + its label (see
    :func:`blank_node_labels`). Nothing in the bytes depends on the order quads were added or on the
    store's own blank-node ids."""
    written = {node.encode(): b"_:b" + label.encode() for node, label in labels.items()}
    with open(path, "wb") as out:
        out.write(b"# Remit dataset: one block per named graph, statements sorted (N-Triples syntax).\n\n")
        for name in sorted(graphs, key=str):
            lines = sorted_lines(store, str(name), written.__getitem__)
            out.write(f"<{name}> {{\n".encode())
            if not lines:
                out.write(b"\n")
            for i in range(0, len(lines), _SLICE):  # a slice at a time: never a second copy of a large graph
                out.write(b"\n".join(lines[i:i + _SLICE]) + b"\n")
            out.write(b"}\n\n")


#: Lines joined and written at a time by :func:`write_trig`.
_SLICE = 100_000


def sorted_lines(store: ox.Store, graph: str, blank: Callable[[bytes], bytes]) -> list[bytes]:
    """The statements of the named graph ``graph`` of ``store`` as sorted N-Triples lines (without their line
    ends), each blank node, subject or object, written as ``blank(its store id)``: a label, or an IRI standing
    for it. Raises ``KeyError`` if ``blank`` does for a node it does not know."""
    text = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
    if b"_:" in text:
        def subject(m: re.Match[bytes]) -> bytes:
            return blank(m.group(1))

        def obj(m: re.Match[bytes]) -> bytes:
            return b" " + blank(m.group(1))

        text = _NT_SUBJECT.sub(subject, text)  # one pass, then the other: at most two copies of the text at once
        text = _NT_OBJECT.sub(obj, text)
    lines = text.split(b"\n")
    del text
    lines.sort()
    empty = 0
    while empty < len(lines) and not lines[empty]:  # empty lines sort first
        empty += 1
    return lines[empty:] if empty else lines


_PN_LOCAL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")


class _Writer:
    """A small, sorted Turtle/TriG writer: one subject block per node, predicates and objects sorted,
    blank nodes always written as ``_:label`` (never nested), so a label shared across graphs stays one
    node and the bytes depend on nothing but the triples."""

    def __init__(self) -> None:
        self.prefixes = sorted(PREFIXES.items(), key=lambda kv: -len(kv[1]))
        self.used: set[str] = set()

    def term(self, t: Node) -> str:
        if isinstance(t, BNode):
            return f"_:{t}"
        if isinstance(t, URIRef):
            s = str(t)
            if s == str(RDF.type):
                return "a"
            for prefix, ns in self.prefixes:
                if s.startswith(ns) and (s == ns or _PN_LOCAL.fullmatch(s[len(ns):])):
                    self.used.add(prefix)
                    return f"{prefix}:{s[len(ns):]}"
            return f"<{s}>"
        assert isinstance(t, Literal)
        text = Literal(str(t)).n3()
        if t.language:
            return f"{text}@{t.language}"
        if t.datatype is not None and t.datatype != XSD.string:
            return f"{text}^^{self.term(t.datatype)}"
        return text

    def block(self, g: Graph, indent: str = "") -> str:
        lines: list[str] = []
        by_subject: dict[Node, list[tuple[Node, Node]]] = {}
        for s, p, o in g:
            by_subject.setdefault(s, []).append((p, o))
        subjects = sorted(by_subject, key=lambda n: (isinstance(n, BNode), self._key(n)))
        for s in subjects:
            po = sorted(by_subject[s], key=lambda x: (x[0] != RDF.type, self._key(x[0]), self._key(x[1])))
            parts: list[str] = []
            last = None
            for p, o in po:
                if p == last:
                    parts[-1] += f",\n{indent}        {self.term(o)}"
                else:
                    parts.append(f"{self.term(p)} {self.term(o)}")
                last = p
            lines.append(f"{indent}{self.term(s)} " + f" ;\n{indent}    ".join(parts) + " .\n")
        return "\n".join(lines)

    @staticmethod
    def _key(n: Node) -> tuple[int, str, str]:
        if isinstance(n, Literal):
            return (2, str(n), str(n.datatype or "") + "@" + (n.language or ""))
        return (1 if isinstance(n, BNode) else 0, str(n), "")

    def header(self) -> str:
        return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(PREFIXES.items()) if p in self.used) + "\n"


def serialize_dataset(graphs: dict[URIRef, Graph]) -> str:
    """TriG of the named graphs: blank nodes canonical over the whole dataset, graphs and statements sorted."""
    canon = canonical_graphs(graphs)
    w = _Writer()
    body = []
    for name in sorted(canon, key=str):
        body.append(f"{w.term(name)} {{\n" + w.block(canon[name], "    ") + "}\n")
    return w.header() + "\n".join(body)


def serialize_graph(g: Graph) -> str:
    """Turtle of one graph with canonical blank-node labels, statements sorted."""
    canon = canonical_graphs({URIRef("urn:x-remit:graph"): g})[URIRef("urn:x-remit:graph")]
    w = _Writer()
    body = w.block(canon)
    return w.header() + body

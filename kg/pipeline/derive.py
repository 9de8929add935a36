"""Derived facts: computed once at build time, read by the analyst queries at request time.

Some answers (which remits overlap, which functions are related through ``skos:broader*``, which
areas have a lead) depend only on the sources, but computing them per request means joins through
property paths over the whole graph. Each ``queries/derive/*.rq`` is a SPARQL ``CONSTRUCT`` with a
grlc-style header; :func:`derive` evaluates them in file-name order over the union of the ontology,
asserted and inferred graphs (and what earlier rules derived), and writes their triples into the
named graph ``id:graph/derived`` (:data:`kg.rdf.namespaces.GRAPH_DERIVED`). The built store serves that
graph as part of the default graph (:data:`kg.rdf.store.DEFAULT_GRAPHS`), so a named query can read a
derived fact as if it were asserted. Every term a rule writes is declared in the ontology.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.rdf.namespaces import GRAPH_ASSERTED, GRAPH_DERIVED, GRAPH_INFERRED, GRAPH_ONTOLOGY

__all__ = ["DeriveRule", "load_rules", "derive", "RULES_DIR"]

#: Where the rules live, relative to the project root.
RULES_DIR = Path("queries") / "derive"
_INPUT = (str(GRAPH_ONTOLOGY), str(GRAPH_ASSERTED), str(GRAPH_INFERRED))


@dataclass(frozen=True)
class DeriveRule:
    """One ``CONSTRUCT`` rule: its name (the file stem), file and text."""

    name: str
    path: Path
    text: str


def load_rules(directory: Path | str) -> list[DeriveRule]:
    """Every ``*.rq`` in ``directory``, sorted by name (a missing folder has no rules)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return [DeriveRule(p.stem, p, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.rq"))]


def derive(store: ox.Store, rules: Sequence[DeriveRule], *, into: str = str(GRAPH_DERIVED),
           inputs: Sequence[str] = _INPUT) -> int:
    """Run ``rules`` in order over the union of ``inputs`` and the graph ``into`` (cleared first);
    insert every constructed triple into ``into``. Returns the number of triples in ``into``.

    Raises ``ValueError`` naming the rule file for a rule that is not a valid ``CONSTRUCT``."""
    target = ox.NamedNode(into)
    store.clear_graph(target)
    default = [ox.NamedNode(g) for g in (*inputs, into)]
    for rule in rules:
        try:
            result = store.query(rule.text, default_graph=default)
        except SyntaxError as exc:
            raise ValueError(f"{rule.path}: invalid SPARQL: {exc}") from None
        if not isinstance(result, ox.QueryTriples):
            raise ValueError(f"{rule.path}: a derive rule must be a CONSTRUCT query")
        # Written and read back as N-Triples inside Oxigraph, with no Python object per triple (545k triples at
        # 1M: the step took 11.2 s against 13.0 s, alternated). Oxigraph's parser gives a blank node a new id,
        # so a rule whose triples hold one (none today) is evaluated again and its triples added as they are.
        text = result.serialize(format=ox.RdfFormat.N_TRIPLES)
        if b"_:" not in text:
            store.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=target)
            continue
        del text
        store.extend([ox.Quad(t.subject, t.predicate, t.object, target)
                      for t in store.query(rule.text, default_graph=default)])  # type: ignore[union-attr]
    return sum(1 for _ in store.quads_for_pattern(None, None, None, target))

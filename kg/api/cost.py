"""Complexity limits and a query-cost guard, applied to rdflib's algebra of a query before it is evaluated.

Refused with :class:`~kg.api.guard.QueryRefused` (HTTP 400), each with a message that names the problem:

* **depth** — the algebra is nested deeper than ``max_depth`` (e.g. 100 nested OPTIONALs);
* **operators** — it has more than ``max_operators`` operators and expressions (e.g. a 500-branch UNION);
* **cartesian product over the whole graph** — a group whose triple patterns fall into parts that share no
  variable, one of them made only of patterns with no constant at all (``?a ?b ?c . ?d ?e ?f``, also when the parts are
  separate ``{ }`` groups joined together). ORDER BY or COUNT over such a product is what exhausts memory;
* **unanchored transitive path** — a ``*`` or ``+`` property path whose two ends are variables that nothing
  else in the query binds (``?a (p|!p)* ?b``): a closure over every node of the graph.

Legitimate analyst queries (every ``queries/*.rq``) pass; ``tests/hardening/test_cost_guard.py`` checks it.
The walk is iterative, so a deep tree cannot exhaust the Python stack here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from kg.api.guard import QueryRefused

__all__ = ["CostLimits", "check_cost", "measure"]


@dataclass(frozen=True)
class CostLimits:
    max_depth: int = 16
    max_operators: int = 1000
    guard: bool = True


def _children(node: Any) -> Iterator[Any]:
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        for k, v in node.items():
            if not str(k).startswith("_"):
                yield v
    elif isinstance(node, dict):
        yield from node.values()
    elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
        try:
            yield from list(node)
        except TypeError:
            return


def measure(algebra: Any) -> tuple[int, int]:
    """(depth, operators): how deeply groups are nested (``{ ... { ... } }``: the right side of a join,
    OPTIONAL, UNION or MINUS, a GRAPH, an EXISTS, a sub-query), and the number of operators and expressions
    in the whole algebra. A chain of sequential OPTIONALs or UNION branches is one level, as written."""
    from rdflib.plugins.sparql.parserutils import CompValue

    depth = ops = 0
    stack: list[tuple[Any, int]] = [(algebra, 0)]
    seen: set[int] = set()
    while stack:
        node, d = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            ops += 1
            depth = max(depth, d)
            for k, v in node.items():
                if str(k).startswith("_"):
                    continue
                nested = k in ("p2", "graph") or (node.name in ("Graph", "ToMultiSet") and k == "p")
                stack.append((v, d + 1 if nested else d))
        else:
            stack.extend((c, d) for c in _children(node))
    return depth, ops


def _nodes(algebra: Any, name: str) -> Iterator[Any]:
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [algebra]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue) and node.name == name:
            yield node
        stack.extend(_children(node))


def _is_var(t: Any) -> bool:
    from rdflib import BNode, Variable

    return isinstance(t, (Variable, BNode))


def _is_path(t: Any) -> bool:
    from rdflib.paths import Path

    return isinstance(t, Path)


def _unbounded(path: Any) -> bool:
    """True when ``path`` contains a ``*`` or ``+`` step."""
    from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, SequencePath

    stack = [path]
    while stack:
        p = stack.pop()
        if isinstance(p, MulPath):
            if p.mod in ("*", "+"):
                return True
            stack.append(p.path)
        elif isinstance(p, (AlternativePath, SequencePath)):
            stack.extend(p.args)
        elif isinstance(p, (InvPath, NegatedPath)):
            stack.extend(getattr(p, "args", None) or [getattr(p, "arg", None)])
    return False


def _show(t: Any) -> str:
    from rdflib import BNode, URIRef, Variable

    if isinstance(t, Variable):
        return "?" + str(t)
    if isinstance(t, BNode):
        return "[]"
    if isinstance(t, URIRef):
        return f"<{t}>"
    if _is_path(t):
        return "(" + t.n3() + ")" if hasattr(t, "n3") else "(path)"
    return str(t)


def _pattern(t: tuple[Any, Any, Any]) -> str:
    return "{ " + " ".join(_show(x) for x in t) + " }"


def _whole_graph(t: tuple[Any, Any, Any]) -> bool:
    s, p, o = t
    return _is_var(s) and _is_var(o) and (_is_var(p) or (_is_path(p) and _unbounded(p)))


def _components(triples: list[tuple[Any, Any, Any]]) -> list[list[tuple[Any, Any, Any]]]:
    parent = list(range(len(triples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Any, int] = {}
    for i, t in enumerate(triples):
        for x in t:
            if _is_var(x):
                if x in owner:
                    parent[find(i)] = find(owner[x])
                else:
                    owner[x] = i
    groups: dict[int, list[tuple[Any, Any, Any]]] = {}
    for i, t in enumerate(triples):
        groups.setdefault(find(i), []).append(t)
    return list(groups.values())


def _triples_under(node: Any) -> list[tuple[Any, Any, Any]]:
    out: list[tuple[Any, Any, Any]] = []
    for bgp in _nodes(node, "BGP"):
        out.extend(bgp["triples"] if "triples" in bgp else [])
    return out


def _cartesian(algebra: Any) -> str | None:
    for bgp in _nodes(algebra, "BGP"):
        triples = list(bgp["triples"] if "triples" in bgp else [])
        if len(triples) < 2:
            continue
        parts = _components(triples)
        if len(parts) < 2:
            continue
        whole = [p for p in parts if all(_whole_graph(t) for t in p)]
        if whole:
            other = next(p for p in parts if p is not whole[0])
            return (f"the triple pattern {_pattern(whole[0][0])} shares no variable with "
                    f"{_pattern(other[0])}: together they are a cartesian product over the whole graph")
    for join in _nodes(algebra, "Join"):
        left, right = join["p1"], join["p2"]
        lt, rt = _triples_under(left), _triples_under(right)
        if not lt or not rt:
            continue
        lv = {x for t in lt for x in t if _is_var(x)} | set(getattr(left, "_vars", set()) or set())
        rv = {x for t in rt for x in t if _is_var(x)} | set(getattr(right, "_vars", set()) or set())
        if lv & rv:
            continue
        wl = lt[0] if all(_whole_graph(t) for t in lt) else None
        wr = rt[0] if all(_whole_graph(t) for t in rt) else None
        if wl is not None or wr is not None:
            a = wl if wl is not None else lt[0]
            b = rt[0] if wl is not None else wr
            return (f"the group with {_pattern(a)} shares no variable with the group with {_pattern(b)}: "
                    "joined, they are a cartesian product over the whole graph")
    return None


def _bound_elsewhere(algebra: Any) -> dict[Any, int]:
    """How often each variable occurs as a triple term, a VALUES or BIND variable, in the whole query."""
    counts: dict[Any, int] = {}
    for t in _triples_under(algebra):
        for x in {x for x in t if _is_var(x)}:
            counts[x] = counts.get(x, 0) + 1
    for v in _nodes(algebra, "values"):
        for row in v["res"] if "res" in v else []:
            for x in row:
                counts[x] = counts.get(x, 0) + 1
    for e in _nodes(algebra, "Extend"):
        if "var" in e:
            counts[e["var"]] = counts.get(e["var"], 0) + 1
    return counts


def _unanchored_path(algebra: Any) -> str | None:
    counts = None
    for t in _triples_under(algebra):
        s, p, o = t
        if not (_is_path(p) and _unbounded(p) and _is_var(s) and _is_var(o)):
            continue
        if counts is None:
            counts = _bound_elsewhere(algebra)
        if counts.get(s, 0) <= 1 and counts.get(o, 0) <= 1 and s != o:
            return (f"the property path {_pattern(t)} repeats (* or +) with both ends unbound: a closure over "
                    "every node of the graph. Bind one end to an IRI, or join it with another pattern")
    return None


def check_cost(algebra: Any, limits: CostLimits) -> None:
    """Raise :class:`QueryRefused` (400) when the query is too deep, too big, or obviously unbounded."""
    depth, ops = measure(algebra)
    if depth > limits.max_depth:
        raise QueryRefused("query too complex",
                           f"the query is nested {depth} operators deep; the limit is {limits.max_depth}.")
    if ops > limits.max_operators:
        raise QueryRefused("query too complex",
                           f"the query has {ops} operators and expressions; the limit is {limits.max_operators}.")
    if not limits.guard:
        return
    for check in (_cartesian, _unanchored_path):
        problem = check(algebra)
        if problem:
            raise QueryRefused("query refused: unbounded", problem + ". Nothing was run.")


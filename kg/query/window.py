"""The window marker: a named query's first pages from the first values of its first ordering key.

A named query whose rows are ordered by one key first (``ORDER BY ?agreement …``) may read the candidate values
of that key in a sub-select of their own, ordered by it, that ends with :data:`WINDOW_MARKER`::

    { SELECT ?agreement WHERE { ?agreement a remit:Agreement FILTER(!BOUND(?body)) }
      ORDER BY ?agreement
      LIMIT 1000000000000 # @window
    }

As written, the marker is a limit no store reaches, so the text is a correct query anywhere (an external store
runs it whole). On the embedded store, :func:`kg.query.registry.select_page` first counts the candidates
(:func:`candidates_query`), then runs the query with only the first ``k`` of them (:func:`place_window`): the
rows whose key is one of the first ``k`` candidates are then exactly the first rows of the whole answer, since
every other row's key sorts after them. When those rows fill the page (``limit`` rows and one more, so it knows
whether more follow), the page is the whole answer's page; when they do not, ``k`` grows
(:func:`next_window`) until it does or until ``k`` reaches the number of candidates, when the query runs whole.

What the query's author guarantees: the outer ``ORDER BY`` starts with the marked sub-select's variable,
ascending; the marked sub-select orders by that variable alone, ascending, with ``DISTINCT`` values, and keeps
every value a row can have as its key; a query may mark more than one sub-select (say, one per branch of a
``UNION``) only if all select the same candidates. A sub-select that selects no candidate when a parameter
narrows the answer (``FILTER(!BOUND(?body))``) makes such a request run whole at once: the window is for the
answers too long to order at every request (every pair of overlapping agreements at 1M synthetic triples).
"""

from __future__ import annotations

import math
import re
from kg.rdf.rq import brace_pairs, scan

__all__ = ["WINDOW_MARKER", "FIRST_WINDOW", "has_window", "candidates_query", "place_window", "next_window"]

#: The marker at the end of the sub-select of a query's candidate keys (see the module's documentation).
WINDOW_MARKER = "LIMIT 1000000000000 # @window"
_WINDOW = re.compile(r"LIMIT\s+1000000000000[ \t]*#[ \t]*@window\b[^\n]*", re.IGNORECASE)
#: How many candidates the first try reads.
FIRST_WINDOW = 4


def has_window(text: str) -> bool:
    """Whether the query marks a sub-select of candidate keys."""
    return _WINDOW.search(text) is not None


def candidates_query(text: str) -> str:
    """A query of its own counting the candidates of the first marked sub-select (``?n``): the query's
    prologue and that sub-select, VALUES blocks included. Raises ``ValueError`` if the marker is not inside a
    sub-select."""
    m = _WINDOW.search(text)
    if m is None:
        raise ValueError("the query has no window marker (LIMIT 1000000000000 # @window)")
    chars = scan(text)
    where = [i for i, _ in chars]
    code = "".join(c for _, c in chars)
    close_of, _ = brace_pairs(code)
    at = next(k for k, i in enumerate(where) if i >= m.start())
    group = [(o, c) for o, c in close_of.items() if o < at < c]
    if not group:
        raise ValueError("the window marker must end a sub-select ({ SELECT … ORDER BY ?key LIMIT … # @window })")
    open_at, close_at = max(group)  # the innermost group around the marker: the sub-select's own braces
    if not re.match(r"\{\s*SELECT\b", code[open_at:], re.IGNORECASE):
        raise ValueError("the window marker must end a sub-select ({ SELECT … ORDER BY ?key LIMIT … # @window })")
    form = re.search(r"\b(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", code, re.IGNORECASE)
    prologue = text[:where[form.start()]] if form else ""
    inner = text[where[open_at]:where[close_at] + 1]
    return f"{prologue}SELECT (COUNT(*) AS ?n) WHERE {{ {inner}\n}}"


def place_window(text: str, k: int) -> str:
    """The query with every window marker replaced by ``LIMIT k``: only the first ``k`` candidates."""
    return _WINDOW.sub(f"LIMIT {k}", text)


def next_window(k: int, produced: int, needed: int) -> int:
    """The next number of candidates to read, after ``k`` gave ``produced`` rows where ``needed`` are wanted
    (the page's offset, limit and one more): as many as that rate of rows per candidate needs, with a quarter
    more, and at least twice ``k``; eight times ``k`` when it gave none."""
    if produced <= 0:
        return k * 8
    return max(2 * k, math.ceil(k * needed / produced * 1.25))


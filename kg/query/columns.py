"""Which columns of a named query's results people read, and what to call them.

A named query returns, for most things it names, both the IRI (``body1``) and its label (``body1Label``),
the sources of each row (``sources``, ``body1Sources``) and the parameters echoed back. People read the
labels; the IRIs, sources and parameters are for programs and for checking. Used by the spreadsheet
download (:mod:`kg.query.spreadsheet`) and by ``kg query``'s table.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

__all__ = ["is_sources", "reader_columns", "human_title", "empty_columns", "pick_columns", "fit_widths"]

_LABEL = "Label"
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def is_sources(column: str) -> bool:
    """``sources`` and ``…Sources``: the documents and places a row's facts come from."""
    return column == "sources" or column.endswith("Sources")


def reader_columns(columns: Sequence[str]) -> list[str]:
    """The columns a person reads, in the query's order: a ``xLabel`` column takes the place of ``x`` (the
    IRI it labels), and the sources columns are left out."""
    cols = set(columns)
    labelled = {c[: -len(_LABEL)] for c in columns if c.endswith(_LABEL) and c[: -len(_LABEL)] in cols}
    out: list[str] = []
    for c in columns:
        if is_sources(c) or (c.endswith(_LABEL) and c[: -len(_LABEL)] in labelled):
            continue
        out.append(c + _LABEL if c in labelled else c)
    return out


def human_title(column: str) -> str:
    """``body1Label`` → ``Body 1``, ``informationAsOf`` → ``Information as of``, ``settingTypeLabel`` →
    ``Setting type``: the words of the name, the first capitalised, acronyms kept."""
    name = column[: -len(_LABEL)] if column.endswith(_LABEL) and len(column) > len(_LABEL) else column
    words = _WORD.findall(name) or [name]
    words = [w if (w.isupper() and len(w) > 1) else w.lower() for w in words]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def empty_columns(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Columns with no value in any row (unbound, or the empty string)."""
    return {c for c in columns if not any((r.get(c) or {}).get("value") for r in rows)}


def _is_iri_column(column: str, rows: Sequence[Mapping[str, Any]]) -> bool:
    kinds = [(r.get(column) or {}).get("type") for r in rows if r.get(column)]
    return bool(kinds) and kinds.count("uri") * 2 >= len(kinds)


def _values(column: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str((r.get(column) or {}).get("value", "")) for r in rows]


def _constant(column: str, rows: Sequence[Mapping[str, Any]]) -> bool:
    return len(rows) > 1 and len(set(_values(column, rows))) == 1


def _long(column: str, rows: Sequence[Mapping[str, Any]], limit: int = 60) -> bool:
    values = [v for v in _values(column, rows) if v]
    return bool(values) and sum(map(len, values)) / len(values) > limit


def pick_columns(columns: Sequence[str], rows: Sequence[Mapping[str, Any]], width: int,
                 skip: Sequence[str] = (), min_width: int = 12) -> list[str]:
    """The key columns that fit side by side in ``width`` characters, in the query's order: the reader's
    columns (labels over the IRIs they label, no sources), without the ``skip`` ones (the parameters echoed
    back) or the empty ones; columns of text before columns of IRIs, columns whose value changes from row to
    row before those with one value throughout, short values before long prose. Each column needs its header's
    width (at least ``min_width``) plus 3 for the borders; at least one column is always picked."""
    empty = empty_columns(columns, rows)
    candidates = [c for c in reader_columns(columns) if c not in empty and c not in skip]
    ranked = sorted(candidates, key=lambda c: (_is_iri_column(c, rows), _constant(c, rows), _long(c, rows),
                                               candidates.index(c)))
    chosen: set[str] = set()
    used = 1
    for c in ranked:
        need = max(len(c), min_width) + 3
        if chosen and used + need > width:
            continue
        chosen.add(c)
        used += need
    return [c for c in candidates if c in chosen]


def fit_widths(headers: Sequence[str], cells: Sequence[Sequence[str]], width: int, floor: int = 12) -> list[int]:
    """Widths of text for a table of ``headers`` and rows of ``cells`` that fits ``width`` characters with
    its borders and padding (3 a column, plus 1): each column at least its header (or ``floor``), the space
    left shared in proportion to how much more each column's longest value needs; cells wrap within it."""
    available = max(len(headers), width - 3 * len(headers) - 1)
    natural = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    if sum(natural) <= available:
        return natural
    base = [min(n, max(len(h), floor)) for n, h in zip(natural, headers)]
    spare = available - sum(base)
    if spare < 0:  # more columns than fit (chosen with -c): equal shares
        return [max(1, available // len(headers))] * len(headers)
    wants = [n - b for n, b in zip(natural, base)]
    total = sum(wants) or 1
    return [b + (spare * w) // total for b, w in zip(base, wants)]

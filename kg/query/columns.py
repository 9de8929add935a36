"""Which columns of a named query's results people read, and what to call them.

A named query returns, for most things it names, both the IRI (``body1``) and its label (``body1Label``),
the sources of each row (``sources``, ``body1Sources``) and the parameters echoed back. People read the
labels; the IRIs, sources and parameters are for programs and for checking. Used by the spreadsheet
download (:mod:`kg.query.spreadsheet`) and by ``kg query``'s table.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

__all__ = ["is_sources", "reader_columns", "human_title", "empty_columns"]

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

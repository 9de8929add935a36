"""The one reader of ``.rq`` files' grlc-style headers: the leading ``#+`` lines, read as YAML.

Named queries (:mod:`kg.query.registry`), quality checks (``queries/qc/*-violation.rq``,
:mod:`kg.pipeline.validate`) and draft rules (``queries/rules/*.rq``, :mod:`kg.revision.check`) all start
with such a header::

    #+ summary: Pairs of bodies that hold the same function for the same setting type
    #+ severity: Warning
    #+ params:
    #+   - name: settingType
    #+     type: iri

Blank lines and plain ``#`` comments may come before it; the header ends at the first other line.

:func:`scan` is the one lexer of SPARQL text: what is code, outside comments, strings and IRIs;
:func:`brace_pairs` matches the braces of that code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["HeaderError", "read_header", "read_folder", "scan", "brace_pairs"]


#: libyaml's safe loader where PyYAML was built with it (the same values; the 32 headers of queries/ in ~15 ms
#: instead of ~130), else PyYAML's own.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class HeaderError(ValueError):
    """A header that is not a YAML mapping; ``str()`` names the file and the line."""


def read_header(path: Path | str, text: str | None = None) -> tuple[dict[str, Any], int]:
    """The header of ``path`` (its ``text`` if given) as a mapping, and the line it starts on (1 if none)."""
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines: list[str] = []
    first_line = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#+"):
            first_line = first_line or lineno
            body = line[2:]
            lines.append(body[1:] if body.startswith(" ") else body)
        elif line.strip() == "" or (line.startswith("#") and not lines):
            continue
        else:
            break
    if not lines:
        return {}, 1
    header = "\n".join(lines)
    try:
        try:
            loaded = yaml.load(header, Loader=FAST_LOADER)
        except yaml.YAMLError:  # said again by the Python loader, whose messages and marks the errors quote
            loaded = yaml.load(header, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {(first_line or 1) + mark.line}" if mark is not None else f"line {first_line}"
        raise HeaderError(f"{path}: {where}: the #+ header is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise HeaderError(f"{path}: line {first_line}: the #+ header must be a mapping (key: value)")
    return loaded or {}, first_line or 1


def read_folder(folder: Path | str, pattern: str = "*.rq") -> list[tuple[Path, dict[str, Any], str]]:
    """``(path, header, text)`` of every file matching ``pattern`` in ``folder``, sorted by name (none when
    the folder is missing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob(pattern)):
        text = path.read_text(encoding="utf-8")
        out.append((path, read_header(path, text)[0], text))
    return out


def scan(text: str) -> list[tuple[int, str]]:
    """Offsets and characters of ``text`` outside comments, strings and IRIs (a tiny SPARQL lexer)."""
    out: list[tuple[int, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                j += 2 if text[j] == "\\" else 1
            i = j + len(quote)
            continue
        if c == "<":
            m = re.match(r"<[^\x00-\x20<>\"{}|^`\\]*>", text[i:])
            if m:
                i += m.end()
                continue
        out.append((i, c))
        i += 1
    return out


def brace_pairs(code: str) -> tuple[dict[int, int], dict[int, int]]:
    """Each "{" offset of ``code`` → its "}", and each "}" → its "{" (one pass; unmatched braces are left out)."""
    close_of: dict[int, int] = {}
    stack: list[int] = []
    for k, c in enumerate(code):
        if c == "{":
            stack.append(k)
        elif c == "}" and stack:
            close_of[stack.pop()] = k
    return close_of, {v: k for k, v in close_of.items()}

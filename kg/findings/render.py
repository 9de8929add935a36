"""The validation report for people and for machines: ``text``, ``json`` and ``turtle``.

Text groups findings by agreement, then by the agreement's part (area of joint work, lead rule, ...),
then lists what is not part of any agreement; each finding is a plain English sentence with its
severity, the focus node's label and IRI, the source it cites and where it is written.
"""

from __future__ import annotations

import io
import json
from itertools import groupby
from typing import Any, Iterable, Iterator, Optional, Sequence

from rich.console import Console
from rich.markup import escape

from kg.findings.model import SEVERITIES, Report, short

__all__ = ["FORMATS", "render", "render_text", "render_json", "render_turtle", "counts_line", "by_agreement_and_area"]

FORMATS: tuple[str, ...] = ("text", "json", "turtle")
_STYLE = {"Violation": "bold red", "Warning": "yellow", "Info": "cyan"}


def counts_line(counts: dict[str, int]) -> str:
    """``1 violation, 0 warnings, 2 infos``: the count of each severity, most severe first."""
    return ", ".join(f"{counts[s]} {s.lower()}{'' if counts[s] == 1 else 's'}" for s in SEVERITIES)


def _group_title(f: Any) -> str:
    if f.agreement is None:
        return "Not part of an agreement"
    return f"Agreement: {f.agreement_label or short(f.agreement)} ({short(f.agreement)})"


def _area_title(f: Any) -> Optional[str]:
    if f.area is None:
        return None
    return f"{f.area_label} ({short(f.area)})" if f.area_label else short(f.area)


def by_agreement_and_area(findings: Iterable[Any]) -> Iterator[tuple[str, list[tuple[Optional[str], str, Sequence[Any]]]]]:
    """Findings (anything with agreement, area, their labels, severity, focus and message: a :class:`Finding` or a
    draft check's item) grouped for people as text: each agreement's title, then its areas, each as its title (None:
    no area), the indent of its findings and its findings, most severe first; what is not part of an agreement
    comes last."""
    ordered = sorted(findings, key=lambda f: (f.agreement is None, f.agreement or "", f.area or "",
                                              SEVERITIES.index(f.severity), f.focus, f.message))
    for title, group in groupby(ordered, key=_group_title):
        yield title, [(area, "    " if area else "  ", list(members))
                      for area, members in groupby(group, key=_area_title)]


def render_text(report: Report, color: bool = False, width: int = 100) -> str:
    """The report as readable text (rich markup is rendered as ANSI colour only when ``color``)."""
    buf = io.StringIO()
    con = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False,
                  soft_wrap=False, emoji=False)
    if report.conforms:
        con.print("[bold green]Validation passed:[/] no findings.")
        return buf.getvalue()
    con.print(f"[bold]Validation report:[/] {counts_line(report.counts)}")
    for title, areas in by_agreement_and_area(report.findings):
        con.print()
        con.print(f"[bold underline]{escape(title)}[/]")
        for area, indent, items in areas:
            if area:
                con.print(f"  [bold]{escape(area)}[/]")
            for f in items:
                con.print(f"{indent}[{_STYLE[f.severity]}]{f.severity.upper()}[/] {escape(f.message)}",
                          overflow="fold")
                sub = indent + "    "
                if f.document:
                    doc = f.document_label or short(f.document)
                    loc = f", {f.locator}" if f.locator else ""
                    con.print(f"{sub}source: {escape(doc)}{escape(loc)}", overflow="fold")
                if f.location:
                    con.print(f"{sub}at: {escape(f.location)}", overflow="fold")
                con.print(f"{sub}check: {escape(f.check)}", overflow="fold")
    con.print()
    con.print(f"[bold]{counts_line(report.counts)}[/]")
    return buf.getvalue()


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_turtle(report: Report) -> str:
    from kg.rdf.serialize import serialize_graph  # the build's deterministic writer

    if report.graph is None:
        raise ValueError("this report has no RDF graph")
    return serialize_graph(report.graph)


def render(report: Report, fmt: str = "text", color: bool = False) -> str:
    """Render ``report`` as ``text``, ``json`` or ``turtle``."""
    if fmt == "text":
        return render_text(report, color=color)
    if fmt == "json":
        return render_json(report)
    if fmt == "turtle":
        return render_turtle(report)
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")

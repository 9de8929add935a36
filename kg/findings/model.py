"""The findings of validation: one :class:`Finding` type, its severities, and the :class:`Report`.

``kg build``, ``kg validate`` and ``kg check`` all produce these; :mod:`kg.findings.render` writes them
for people (text) and machines (JSON, Turtle).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from rdflib import BNode, Graph, Literal
from rdflib.term import Node

from kg.rdf.namespaces import DCTERMS, FOAF, PREFIXES, RDFS, SKOS

_LABELS = (SKOS.prefLabel, RDFS.label, DCTERMS.title, FOAF.name)

__all__ = ["SEVERITIES", "Finding", "Report", "severity_at_least", "severity_of", "short", "label_of"]

#: Severities from the most to the least severe.
SEVERITIES: tuple[str, ...] = ("Violation", "Warning", "Info")
def severity_at_least(severity: str, threshold: str) -> bool:
    """True when ``severity`` is at or above ``threshold`` (``none`` is never reached)."""
    threshold = threshold.capitalize()
    if threshold not in SEVERITIES:
        return False
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


def severity_of(header: dict[str, Any], path: object) -> str:
    """The ``severity`` of a check file's header (default ``Violation``); a :class:`ValueError` naming the file
    for anything else."""
    severity = str(header.get("severity", "Violation")).capitalize()
    if severity not in SEVERITIES:
        raise ValueError(f"{path}:1:1: severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    return severity


def short(node: Node | str | None) -> str:
    """A readable compact form of an IRI (``id:agreement/x``, ``remit:leadBody``); literals quoted."""
    if node is None:
        return ""
    if isinstance(node, Literal):
        return f'"{node}"'
    s = str(node)
    if isinstance(node, BNode):
        return f"_:{s}"
    best = ""
    for prefix, ns in PREFIXES.items():
        if s.startswith(ns) and len(ns) > len(best):
            best, name = ns, prefix
    return f"{name}:{s[len(best):]}" if best else f"<{s}>"


@dataclass
class Finding:
    """One problem found by a shape or a quality check, with what a person needs to fix it."""

    severity: str
    message: str
    focus: str
    check: str
    kind: str  # "shacl" or "qc"
    path: str | None = None
    value: str | None = None
    focus_label: str | None = None
    agreement: str | None = None
    agreement_label: str | None = None
    area: str | None = None
    area_label: str | None = None
    document: str | None = None
    document_label: str | None = None
    locator: str | None = None
    location: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        return (SEVERITIES.index(self.severity), self.agreement or "~", self.area or "~", self.focus,
                self.check, self.path or "", self.value or "", self.message)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Report:
    """Findings plus the RDF report graph (``sh:ValidationReport`` with QC results)."""

    findings: list[Finding] = field(default_factory=list)
    graph: Graph | None = None

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in SEVERITIES}

    @property
    def conforms(self) -> bool:
        return not self.findings

    def fails(self, threshold: str) -> bool:
        """True when a finding is at or above ``threshold`` (violation, warning, info; none never fails)."""
        return any(severity_at_least(f.severity, threshold) for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"conforms": self.conforms, "counts": self.counts,
                "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Report":
        return cls(findings=[Finding(**f) for f in data.get("findings", [])])


def label_of(node: Node | None, g: Graph) -> str | None:
    """The node's English (or untagged) skos:prefLabel, rdfs:label, dcterms:title or foaf:name."""
    if node is None or isinstance(node, Literal):
        return None
    for prop in _LABELS:
        vals = sorted(g.objects(node, prop), key=lambda l: (getattr(l, "language", None) not in (None, "en"), str(l)))
        if vals:
            return str(vals[0])
    return None

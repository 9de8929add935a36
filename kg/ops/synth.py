"""A synthetic national graph in Remit's own ontology, for scale tests and benchmarks.

``synthesize(out, triples=N, seed=S)`` writes a deterministic data folder (same ``N`` and ``seed`` →
byte-identical files) laid out like ``data/``::

    OUT/sources/synth-sources.ttl          synthetic source documents (every citation points into one)
    OUT/legislation/synth-legislation.ttl  synthetic statutes and provisions (the legal bases)
    OUT/bodies/synth-bodies.ttl            bodies, offices, successions, responsibilities
    OUT/settings/synth-settings-NNN.ttl    individual establishments (remit:Setting)
    OUT/agreements/synth-agreements-NNN.ttl agreements with areas of joint work, leads and contacts
    OUT/planted.json                       the gaps planted on purpose, and the triple count

Everything it mints is clearly synthetic: IRIs under ``https://w3id.org/remit/id/`` with a ``synth-``
slug and labels that start with "Synthetic". It refers to the real vocabularies (every setting type,
function and jurisdiction of ``ontology/vocab/``), never to real bodies, statutes or documents, and it
states no real fact. Every fact node carries a ``remit:citation`` (document + locator), so the graph
passes the shapes and quality checks except for the gaps it plants, which ``planted.json`` lists:

* ``areasWithoutLead``: areas of joint work with no ``remit:leadBody``;
* ``areasWithoutContact``: areas of joint work with no ``remit:contactPoint``;
* ``overlaps``: pairs of distinct bodies holding the same function for the same setting type (each
  pair once, ``body1 < body2``), with the jurisdictions and the responsibilities involved;
* ``duplications``: the overlaps for which no agreement between the two bodies names a lead on a
  covering area of joint work (``queries/duplications.rq``).

Every fourth body also holds a responsibility another body holds (a planted overlap); the others use
(function, setting type) pairs no other body uses, but a broader function (``fn:inspection``) overlaps
its narrower ones, so the lists are worked out from what was generated with the queries' rules.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyoxigraph as ox

from kg.paths import VOCAB_DIR
from kg.rdf.namespaces import ID_PREFIXES, PREFIXES, SKOS

__all__ = ["SynthResult", "synthesize", "parse_size", "vocabulary", "count_triples"]

_VOCAB_DIR = VOCAB_DIR

_USED_PREFIXES = (
    "remit", "body", "office", "agreement", "st", "fn", "jur", "status", "doc", "statute", "provision", "resp",
    "event", "setting", "org", "rdfs", "xsd", "vcard", "dcterms",
)
_LOCAL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")

_BODY_CLASSES = ("remit:Inspectorate", "remit:Regulator", "remit:LayMonitoringBody", "remit:Ombudsman")
_BODY_KIND = {"remit:Inspectorate": "inspectorate", "remit:Regulator": "regulator",
              "remit:LayMonitoringBody": "lay monitoring body", "remit:Ombudsman": "ombudsman"}
_SETTINGS_PER_FILE = 2000
_AGREEMENTS_PER_FILE = 250


def parse_size(text: str | int) -> int:
    """``"10k"`` → 10000, ``"1M"`` → 1000000, ``"2500"`` → 2500."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", str(text))
    if not m:
        raise ValueError(f"not a size: {text!r} (expected e.g. 10k, 100k, 1M or 2500)")
    n = float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(n)


def vocabulary(vocab_dir: Path = _VOCAB_DIR) -> dict[str, list[str]]:
    """The concept IRIs of each vocabulary (setting types, functions, jurisdictions, statuses), sorted."""
    store = ox.Store()
    for f in sorted(Path(vocab_dir).glob("*.ttl")):
        store.load(path=str(f), format=ox.RdfFormat.TURTLE)
    out: dict[str, list[str]] = {}
    for key, prefix in (("settingTypes", "st"), ("functions", "fn"), ("jurisdictions", "jur"),
                        ("statuses", "status")):
        ns = ID_PREFIXES[prefix]
        iris = {q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode(str(SKOS.prefLabel)), None)
                if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(ns)}
        if not iris:
            raise ValueError(f"{vocab_dir}: no {key} concepts (IRIs under {ns})")
        out[key] = sorted(iris)
    broader: dict[str, str] = {}
    for q in store.quads_for_pattern(None, ox.NamedNode(str(SKOS.broader)), None):
        broader[q.subject.value] = q.object.value
    out["_broader"] = [f"{k} {v}" for k, v in sorted(broader.items())]
    return out


def count_triples(folder: Path | str) -> int:
    """Triples in every ``*.ttl`` under ``folder`` (parsed with pyoxigraph; blank nodes kept apart per file)."""
    n = 0
    for f in sorted(Path(folder).rglob("*.ttl")):
        n += sum(1 for _ in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE))
    return n


@dataclass
class SynthResult:
    """What :func:`synthesize` wrote: the folder, the triple count, the files and the planted gaps."""

    out: Path
    triples: int
    files: list[Path]
    planted: dict[str, object] = field(default_factory=dict)


# --- Turtle writing ----------------------------------------------------------------------------------

def _q(name: str) -> str:
    """A compact Turtle form of a prefixed name ``p:local`` or a full IRI."""
    if name.startswith(("http://", "https://", "mailto:")):
        for prefix in _USED_PREFIXES:
            ns = PREFIXES[prefix]
            if name.startswith(ns) and _LOCAL.fullmatch(name[len(ns):]):
                return f"{prefix}:{name[len(ns):]}"
        return f"<{name}>"
    return name


def _lit(text: str, lang: str | None = "en") -> str:
    esc = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{esc}"@{lang}' if lang else f'"{esc}"'


def _typed(text: str, dt: str) -> str:
    return f'"{text}"^^{dt}'


class _Turtle:
    """Writes subject blocks to one Turtle file and counts the triples written."""

    def __init__(self, path: Path, comment: str):
        self.path = path
        self.parts: list[str] = [f"# {comment}\n# Synthetic test data written by `kg synth`: not real bodies, documents or facts.\n\n"]
        for prefix in _USED_PREFIXES:
            self.parts.append(f"@prefix {prefix}: <{PREFIXES[prefix]}> .\n")
        self.parts.append("\n")
        self.triples = 0

    def block(self, subject: str, pairs: list[tuple[str, str]]) -> None:
        """``subject p1 o1 ; p2 o2 .``; an object may be a ``[ ... ]`` blank node (counted by the caller)."""
        lines = [f"{_q(subject)} "]
        body = " ;\n    ".join(f"{p} {o}" for p, o in pairs)
        lines.append(body + " .\n\n")
        self.parts.append("".join(lines))
        self.triples += len(pairs)

    def close(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(self.parts), encoding="utf-8", newline="\n")


# --- the generator -----------------------------------------------------------------------------------

@dataclass
class _Resp:
    iri: str
    holder: str
    function: str
    setting_type: str
    jurisdiction: str


class _Gen:
    def __init__(self, target: int, seed: int, vocab: dict[str, list[str]]):
        self.target = target
        self.rng = random.Random(f"remit-synth:{seed}")
        self.st = vocab["settingTypes"]
        self.fn = vocab["functions"]
        self.jur = vocab["jurisdictions"]
        self.status = vocab["statuses"]
        self.triples = 0
        self.docs: list[str] = []
        self.provisions: list[str] = []
        self.bodies: list[str] = []
        self.resps: list[_Resp] = []
        self.areas_without_lead: list[str] = []
        self.areas_without_contact: list[str] = []
        self.covered: list[tuple[str, str, str, str]] = []  # (b1, b2, fn, st) of every area with a lead
        self.broader: dict[str, str] = dict(line.split(" ") for line in vocab["_broader"])
        self.files: list[_Turtle] = []

    # helpers
    def date_between(self, start_year: int, end_year: int) -> str:
        start = date(start_year, 1, 1).toordinal()
        end = date(end_year, 12, 31).toordinal()
        return date.fromordinal(self.rng.randint(start, end)).isoformat()

    def citation(self, locator: str, doc: str | None = None) -> tuple[str, str]:
        """``remit:citation [ a remit:Citation ; citedDocument ; locator ]``: 4 triples (1 + 3 inside)."""
        d = doc or self.rng.choice(self.docs)
        self.triples += 3  # the blank node's own triples; the link is counted by the block
        return ("remit:citation",
                f"[ a remit:Citation ; remit:citedDocument {_q(d)} ; remit:locator {_lit(locator, None)} ]")

    def new_file(self, path: Path, comment: str) -> _Turtle:
        t = _Turtle(path, comment)
        self.files.append(t)
        return t

    def emit(self, t: _Turtle, subject: str, pairs: list[tuple[str, str]]) -> None:
        t.block(subject, pairs)
        self.triples += len(pairs)

    # parts
    def sources(self, out: Path, n_docs: int) -> None:
        t = self.new_file(out / "sources" / "synth-sources.ttl", "Synthetic source documents")
        for i in range(1, n_docs + 1):
            iri = f"{ID_PREFIXES['doc']}synth-doc-{i:05d}"
            self.docs.append(iri)
            self.emit(t, iri, [
                ("a", "remit:SourceDocument"),
                ("rdfs:label", _lit(f"Synthetic source document {i:05d}")),
                ("remit:sourceStatus", _lit("DOC", None)),
                ("dcterms:date", _typed(self.date_between(2000, 2024), "xsd:date")),
                ("remit:note", _lit("Synthetic test document written by kg synth; it does not exist.")),
            ])

    def legislation(self, out: Path, n_statutes: int) -> None:
        t = self.new_file(out / "legislation" / "synth-legislation.ttl", "Synthetic statutes and provisions")
        for i in range(1, n_statutes + 1):
            statute = f"{ID_PREFIXES['statute']}synth-act-{i:03d}"
            doc = self.docs[(i - 1) % len(self.docs)]
            self.emit(t, statute, [
                ("a", "remit:Statute"),
                ("rdfs:label", _lit(f"Synthetic Act {i:03d}")),
                self.citation(f"Synthetic Act {i:03d}, long title", doc),
            ])
            for s in range(1, 5):
                prov = f"{ID_PREFIXES['provision']}synth-act-{i:03d}-s{s}"
                self.provisions.append(prov)
                self.emit(t, prov, [
                    ("a", "remit:StatutoryProvision"),
                    ("rdfs:label", _lit(f"Synthetic Act {i:03d}, section {s}")),
                    ("remit:statute", _q(statute)),
                    ("remit:provisionReference", _lit(f"s{s}", None)),
                    self.citation(f"Synthetic Act {i:03d}, section {s}", doc),
                ])

    def bodies_and_responsibilities(self, out: Path, n_bodies: int, resp_per_body: int) -> None:
        t = self.new_file(out / "bodies" / "synth-bodies.ttl", "Synthetic bodies, offices, successions and responsibilities")
        keys = [(f, s) for f in self.fn for s in self.st]
        self.rng.shuffle(keys)
        if n_bodies * resp_per_body > len(keys):
            resp_per_body = max(1, len(keys) // n_bodies)
        k = 0
        for i in range(1, n_bodies + 1):
            slug = f"synth-body-{i:04d}"
            iri = f"{ID_PREFIXES['body']}{slug}"
            cls = _BODY_CLASSES[(i - 1) % len(_BODY_CLASSES)]
            self.bodies.append(iri)
            pairs = [
                ("a", cls),
                ("rdfs:label", _lit(f"Synthetic {_BODY_KIND[cls]} {i:04d}")),
                ("remit:acronym", _lit(f"SB{i:04d}", None)),
                ("remit:jurisdiction", _q(self.jur[(i - 1) % len(self.jur)])),
                ("remit:establishedBy", _q(self.rng.choice(self.provisions))),
                self.citation(f"Synthetic register of bodies, entry {i}"),
            ]
            self.emit(t, iri, pairs)
            if i % 5 == 0:
                office = f"{ID_PREFIXES['office']}synth-office-{i:04d}"
                self.emit(t, office, [
                    ("a", "remit:Office"),
                    ("rdfs:label", _lit(f"Synthetic chief officer of synthetic body {i:04d}")),
                    ("remit:officeOf", _q(iri)),
                    ("remit:establishedBy", _q(self.rng.choice(self.provisions))),
                    self.citation(f"Synthetic register of offices, entry {i}"),
                ])
            if i % 10 == 3:  # a predecessor body succeeded by this one (remit:succeededBy via the chain)
                pred = f"{ID_PREFIXES['body']}synth-predecessor-{i:04d}"
                event = f"{ID_PREFIXES['event']}synth-succession-{i:04d}"
                when = self.date_between(2000, 2015)
                self.emit(t, pred, [
                    ("a", cls),
                    ("rdfs:label", _lit(f"Synthetic predecessor body {i:04d}")),
                    ("remit:jurisdiction", _q(self.jur[(i - 1) % len(self.jur)])),
                    ("remit:dissolved", _typed(when, "xsd:date")),
                    ("org:changedBy", _q(event)),
                    self.citation(f"Synthetic register of bodies, dissolved entry {i}"),
                ])
                self.emit(t, event, [
                    ("a", "remit:Succession"),
                    ("rdfs:label", _lit(f"Synthetic succession {i:04d}")),
                    ("org:originalOrganization", _q(pred)),
                    ("org:resultingOrganization", _q(iri)),
                    ("dcterms:date", _typed(when, "xsd:date")),
                    self.citation(f"Synthetic register of changes, entry {i}"),
                ])
            for r in range(resp_per_body):
                f, s = keys[k % len(keys)]
                k += 1
                self.responsibility(t, iri, slug, f, s, self.rng.choice(self.jur), r + 1)
        # planted overlaps: every fourth body also holds a key another body already holds
        own = {b: [r for r in self.resps if r.holder == b] for b in self.bodies}
        for i in range(4, n_bodies + 1, 4):
            body = self.bodies[i - 1]
            other = self.bodies[(i * 7 + 3) % n_bodies]
            if other == body or not own[other]:
                continue
            base = own[other][0]
            self.responsibility(t, body, f"synth-body-{i:04d}", base.function, base.setting_type,
                                base.jurisdiction, resp_per_body + 1)

    def responsibility(self, t: _Turtle, holder: str, slug: str, f: str, s: str, j: str, n: int) -> None:
        iri = f"{ID_PREFIXES['resp']}{slug}-{n}"
        self.resps.append(_Resp(iri, holder, f, s, j))
        self.emit(t, iri, [
            ("a", "remit:Responsibility"),
            ("remit:holder", _q(holder)),
            ("remit:function", _q(f)),
            ("remit:settingType", _q(s)),
            ("remit:jurisdiction", _q(j)),
            ("remit:legalBasis", _q(self.rng.choice(self.provisions))),
            ("remit:validFrom", _typed(self.date_between(1995, 2020), "xsd:date")),
            self.citation(f"Synthetic register of functions, {slug} item {n}"),
        ])

    def setting(self, t: _Turtle, i: int) -> None:
        st = self.st[(i - 1) % len(self.st)]
        kind = st.rsplit("/", 1)[1].replace("-", " ")
        iri = f"{ID_PREFIXES['setting']}synth-setting-{i:06d}"
        pairs = [
            ("a", "remit:Setting"),
            ("rdfs:label", _lit(f"Synthetic {kind} {i:06d}")),
            ("remit:settingType", _q(st)),
            ("remit:jurisdiction", _q(self.jur[self.rng.randrange(len(self.jur))])),
        ]
        if i % 3:
            town = self.rng.randrange(1, 500)
            pairs.append(("org:siteAddress", f"[ a vcard:Address ; vcard:locality {_lit(f'Synthetic town {town:03d}', None)} ]"))
            self.triples += 2
        pairs.append(self.citation(f"Synthetic list of establishments, row {i}"))
        self.emit(t, iri, pairs)

    def agreement(self, t: _Turtle, i: int) -> None:
        slug = f"synth-agreement-{i:05d}"
        iri = f"{ID_PREFIXES['agreement']}{slug}"
        b1, b2 = self.rng.sample(self.bodies, 2)
        doc = self.rng.choice(self.docs)
        held = [r for r in self.resps if r.holder in (b1, b2)]
        n_areas = self.rng.randint(2, 5)
        # each area is work one party holds a responsibility for, and that party leads it
        areas = [(f"{iri}/area-{a}", r.function, r.setting_type, r.holder)
                 for a, r in enumerate((self.rng.choice(held) for _ in range(n_areas)), start=1)]
        status = "status:in-force"
        pair = tuple(sorted((b1, b2)))
        pairs = [
            ("a", "remit:MemorandumOfUnderstanding"),
            ("rdfs:label", _lit(f"Synthetic memorandum of understanding {i:05d}")),
            ("remit:party", _q(b1)),
            ("remit:party", _q(b2)),
            ("remit:documentDate", _typed(self.date_between(2003, 2024), "xsd:date")),
            ("remit:scopeSettingType", _q(areas[0][2])),
            ("remit:scopeFunction", _q(areas[0][1])),
            ("remit:sourceDocument", _q(doc)),
        ]
        contacts = [f"{iri}/contact-{p + 1}" for p in range(2)]
        review = f"{iri}/review"
        pairs.append(("remit:reviewCommitment", _q(review)))
        for area, _, _, _ in areas:
            pairs.append(("remit:areaOfJointWork", _q(area)))
        pairs.append(("remit:status", _q(status)))
        pairs.append(self.citation(f"{slug}, title page", doc))
        self.emit(t, iri, pairs)
        self.emit(t, review, [
            ("a", "remit:ReviewCommitment"),
            ("remit:reviewInterval", _typed(self.rng.choice(("P1Y", "P2Y", "P3Y")), "xsd:duration")),
            ("remit:statement", _lit(f"Synthetic review commitment of synthetic memorandum {i:05d}")),
            self.citation(f"{slug}, review", doc),
        ])
        for p, (contact, body) in enumerate(zip(contacts, (b1, b2)), start=1):
            self.emit(t, contact, [
                ("a", "remit:ContactPoint"),
                ("rdfs:label", _lit(f"Synthetic contact {p} for synthetic agreement {i:05d}")),
                ("remit:contactFor", _q(body)),
                ("vcard:hasEmail", f"<mailto:{slug}-contact-{p}@example.invalid>"),
                ("remit:contactPurpose", _lit("operating the synthetic memorandum")),
                self.citation(f"{slug}, contacts, item {p}", doc),
            ])
        for a, (area, f, s, lead) in enumerate(areas, start=1):
            roll = self.rng.random()
            pairs = [
                ("a", "remit:AreaOfJointWork"),
                ("remit:ordinal", _lit(str(a), None)),
                ("remit:statement", _lit(f"Synthetic area {a} of synthetic memorandum {i:05d}")),
                ("remit:function", _q(f)),
                ("remit:settingType", _q(s)),
            ]
            if roll < 0.04:
                self.areas_without_lead.append(area)
            else:
                pairs.append(("remit:leadBody", _q(lead)))
                self.covered.append((pair[0], pair[1], f, s))
            if 0.02 <= roll < 0.06:
                self.areas_without_contact.append(area)
            else:
                pairs.append(("remit:contactPoint", _q(contacts[a % 2])))
            pairs.append(self.citation(f"{slug}, areas for joint work, item {a}", doc))
            self.emit(t, area, pairs)

    def ancestors(self, c: str) -> list[str]:
        """``c`` and everything above it (``skos:broader*``)."""
        out = [c]
        while out[-1] in self.broader and len(out) < 20:
            out.append(self.broader[out[-1]])
        return out

    def related(self, a: str, b: str) -> bool:
        """Equal, or one is broader (transitively) than the other."""
        return a in self.ancestors(b) or b in self.ancestors(a)

    def planted(self) -> dict[str, object]:
        """The overlaps as ``queries/overlaps.rq`` defines them, worked out here from what was generated:
        distinct bodies, the same setting type, functions related by ``skos:broader*`` either way and
        jurisdictions related either way (``jurisdiction`` is the narrower); all synthetic
        responsibilities are in effect today (valid from 1995–2020, no end, holders not dissolved).
        An overlap is covered (``queries/duplications.rq``) when an agreement in force between the two
        bodies (all synthetic agreements are) names a lead on an area whose function is related to either
        function and whose setting type is the overlap's or a broader one; ``duplications`` are the
        overlaps not covered."""
        by_st: dict[str, list[_Resp]] = {}
        for r in self.resps:
            by_st.setdefault(r.setting_type, []).append(r)
        cover: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for b1, b2, f, s in self.covered:
            cover.setdefault((b1, b2), []).append((f, s))
        overlaps = []
        for st, rs in sorted(by_st.items()):
            for x in rs:
                for y in rs:
                    if not x.holder < y.holder:
                        continue
                    if not self.related(x.function, y.function) or not self.related(x.jurisdiction, y.jurisdiction):
                        continue
                    narrower = x.jurisdiction if y.jurisdiction in self.ancestors(x.jurisdiction) else y.jurisdiction
                    covered = any(
                        st_ in self.ancestors(st) and (self.related(f_, x.function) or self.related(f_, y.function))
                        for f_, st_ in cover.get((x.holder, y.holder), ()))
                    overlaps.append({
                        "body1": x.holder, "function1": x.function, "body2": y.holder, "function2": y.function,
                        "settingType": st, "jurisdiction": narrower, "covered": covered,
                        "responsibility1": x.iri, "responsibility2": y.iri,
                    })
        overlaps.sort(key=lambda o: (o["body1"], o["body2"], o["settingType"], o["function1"], o["function2"]))
        return {
            "areasWithoutLead": sorted(self.areas_without_lead),
            "areasWithoutContact": sorted(self.areas_without_contact),
            "overlaps": overlaps,
            "duplications": [o for o in overlaps if not o["covered"]],
        }


def synthesize(out: Path | str, triples: int | str = 10_000, seed: int = 1,
               vocab_dir: Path | str = _VOCAB_DIR) -> SynthResult:
    """Write a synthetic data folder of about ``triples`` triples (±1 %) into ``out``; see the module doc.

    ``out`` must be empty or absent (nothing else is overwritten). Deterministic in (triples, seed).
    """
    out = Path(out)
    target = parse_size(triples)
    if target < 1000:
        raise ValueError(f"--triples {target}: the smallest synthetic graph is 1000 triples")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: not empty; kg synth writes into a new or empty folder")
    vocab = vocabulary(Path(vocab_dir))
    g = _Gen(target, seed, vocab)
    n_bodies = max(12, min(150, target // 4000))
    g.sources(out, max(10, min(2000, target // 2000)))
    g.legislation(out, max(3, n_bodies // 4))
    g.bodies_and_responsibilities(out, n_bodies, 2)
    fixed = g.triples
    settings_file: _Turtle | None = None
    agreements_file: _Turtle | None = None
    n_settings = n_agreements = 0
    setting_triples = 0
    # Alternate settings and agreements until the target is reached (each unit adds < 100 triples).
    while g.triples < target:
        before = g.triples
        if setting_triples < 0.3 * (g.triples - fixed):
            if n_settings % _SETTINGS_PER_FILE == 0:
                settings_file = g.new_file(out / "settings" / f"synth-settings-{n_settings // _SETTINGS_PER_FILE + 1:03d}.ttl",
                                           "Synthetic establishments")
            n_settings += 1
            assert settings_file is not None
            g.setting(settings_file, n_settings)
            setting_triples += g.triples - before
        else:
            if n_agreements % _AGREEMENTS_PER_FILE == 0:
                agreements_file = g.new_file(
                    out / "agreements" / f"synth-agreements-{n_agreements // _AGREEMENTS_PER_FILE + 1:03d}.ttl",
                    "Synthetic memoranda of understanding")
            n_agreements += 1
            assert agreements_file is not None
            g.agreement(agreements_file, n_agreements)
    out.mkdir(parents=True, exist_ok=True)
    for t in g.files:
        t.close()
    planted = g.planted()
    manifest = {
        "generator": "kg synth",
        "seed": seed,
        "requestedTriples": target,
        "triples": g.triples,
        "counts": {"bodies": len(g.bodies), "responsibilities": len(g.resps), "settings": n_settings,
                   "agreements": n_agreements, "documents": len(g.docs)},
        **planted,
    }
    (out / "planted.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return SynthResult(out=out, triples=g.triples, files=sorted(t.path for t in g.files), planted=manifest)


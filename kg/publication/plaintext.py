"""Text for people: the one function that turns what the data and the checks write (IRIs, "label <IRI>"
references, prefixed names, ``P1Y`` durations, the project's internal references) into plain English.

Used by every page (:meth:`kg.publication.site.Site.plain`, the ``plain`` template filter) and by the check
and diff pages (:mod:`kg.api.check_pages`), each with its own labeller.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from kg.rdf.namespaces import PREFIXES

__all__ = ["plain_text", "plain_reference", "humanise_duration", "CURIE"]

#: An IRI in text, in angle brackets or bare (a trailing full stop, comma or bracket is not part of it).
_IRI = re.compile(r"<?((?:https?|mailto|tel):[^\s<>\"'(),;{}]+?)>?(?=[\s,;:()\"'{}|]|\.(?:\s|$)|$)")
#: "label <IRI>": an IRI in angle brackets after words (the named queries' sources and documents columns).
_AFTER_WORDS = re.compile(r"(?P<words>[^\s<>|](?:[^<>|]*[^\s<>|])?)\s*<(?P<iri>https?://[^<>\s]*)>")
_PREFIX_ALT = "|".join(sorted((re.escape(p) for p in PREFIXES), key=len, reverse=True))
#: A prefixed name with one of Remit's prefixes ("body:hmi-probation", "remit:citedDocument").
CURIE = re.compile(r"(?<![\w/:.@-])(" + _PREFIX_ALT + r"):([A-Za-z0-9_][A-Za-z0-9_./-]*[A-Za-z0-9_]|[A-Za-z0-9_])(?!\w|:\S)")
_CURIE_AFTER_LABEL = re.compile(r" \((?:" + _PREFIX_ALT + r"):[^\s()]+\)")
_DURATION = re.compile(r"\bP(?=\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?\b")

#: A part of a locator or title that names the project's own working papers, not the public document: its
#: fact-sheet rows ("fact sheet row T3") and its source-text file names ("source text 000_f93c….txt").
_INTERNAL_REF = re.compile(r"^\s*(?:fact sheet\b|(?:the same text as )?source text\b)", re.I)
_BRACKETED = re.compile(r"\s*\(([^()]*)\)")
_LOOSE_ROWS = re.compile(r"\s*\bfact sheet rows? [A-Z]\d+(?:(?:,| and) [A-Z]\d+)*", re.I)


def plain_reference(text: str) -> str:
    """``text`` (a citation's locator, a document's title) without the project's internal references: the
    bracketed parts that name a fact-sheet row or a source-text file go, the rest of the words stay."""
    def keep(m: "re.Match[str]") -> str:
        parts = [p.strip() for p in m.group(1).split(";") if p.strip() and not _INTERNAL_REF.match(p)]
        return f" ({'; '.join(parts)})" if parts else ""

    if not text or ("fact sheet" not in text.lower() and "source text" not in text.lower()):
        return text
    return _LOOSE_ROWS.sub("", _BRACKETED.sub(keep, text)).strip()


def humanise_duration(duration: str) -> str:
    """``P1Y`` → "1 year", ``P18M`` → "18 months"; anything else as given."""
    m = re.match(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$", duration or "")
    if not m:
        return duration
    parts = []
    for n, unit in zip(m.groups(), ("year", "month", "day")):
        if n:
            parts.append(f"{int(n)} {unit}{'' if int(n) == 1 else 's'}")
    return ", ".join(parts) or duration


def plain_text(text: str, label: Callable[[str], str], own_base: Optional[str] = None) -> str:
    """``text`` for people.

    * the project's internal references go (:func:`plain_reference`);
    * "label <IRI>" keeps the words and drops the IRI when the words end with the IRI's label;
    * an IRI becomes its label (``mailto:`` and ``tel:`` their address or number); with ``own_base``, only
      IRIs under it do, and other web addresses stay, for people to follow;
    * a prefixed name after a label is dropped (``HM Inspectorate of Probation (body:hmi-probation)`` →
      ``HM Inspectorate of Probation``), other prefixed names become labels;
    * durations read as words (``P1Y`` → ``1 year``).
    """
    if not text:
        return text
    text = plain_reference(text)
    if "<" in text:
        def labelled(m: re.Match[str]) -> str:
            words, iri = m.group("words"), m.group("iri")
            return words if words.lower().endswith(plain_reference(label(iri)).lower()) else m.group(0)
        text = _AFTER_WORDS.sub(labelled, text)

    def iri(m: re.Match[str]) -> str:
        value = m.group(1)
        if value.startswith(("mailto:", "tel:")):
            return value.split(":", 1)[1]
        if own_base is not None and not value.startswith(own_base):
            return m.group(0)
        return plain_reference(label(value))

    if ":" in text:
        text = _IRI.sub(iri, text)
        text = _CURIE_AFTER_LABEL.sub("", text)
        text = CURIE.sub(lambda m: label(PREFIXES[m.group(1)] + m.group(2)), text)
    return _DURATION.sub(lambda m: humanise_duration(m.group(0)), text)

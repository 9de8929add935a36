"""The pictures: the network of bodies and agreements (``/network.html``) and the chart of overlaps and
duplications by setting type and nation (``/charts/overlaps.html``), drawn here as SVG, inline in the page.

Both are readable without JavaScript: the server draws them, each node is a link to its page, and the same
facts stand under each picture as a table. The layout is computed by hand and is deterministic (no clock, no
random; ties broken by label), so a publication gives the same bytes every time.

Nothing here is a second model of who is party to what, who leads or where remits overlap:

* the network reads ``remit:party`` (as the agreements page does) and the leads of the ``leads`` named query
  (an area of joint work or a lead rule of the agreement naming a lead body);
* the chart counts the overlap records of the matrix (:func:`kg.publication.views.matrix_cells`: the
  ``overlaps`` and ``duplications`` named queries on the status date, over the overlap records derived at build
  time by queries/derive/40-48), grouped by the overlap's setting type and jurisdiction, so its numbers are
  the matrix's and the queries'.

The network is a bipartite picture: bodies in the left column, agreements in the right, each column ordered
by the barycentre heuristic (each node placed at the mean position of its neighbours, sweeping left and right
until the number of crossing edges stops falling; the fewest-crossings order seen is kept).
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from markupsafe import Markup

from kg.publication.site import FN_PREFIX, R, ST_PREFIX, Site, Value, slug
from kg.publication.views import OVERLAP_KEY, matrix_cells
from kg.query.registry import ALL_ROWS
from kg.rdf.namespaces import ID

__all__ = ["NETWORK_PATH", "OVERLAPS_CHART_PATH", "PAGE_PATHS", "MAX_DRAWN", "network", "order_bipartite",
           "crossings", "network_svg", "network_view", "overlap_groups", "overlaps_chart_svg", "overlaps_chart_view",
           "Network", "Edge"]

NETWORK_PATH = "/network.html"
OVERLAPS_CHART_PATH = "/charts/overlaps.html"
#: The pictures' pages (written by ``kg publish``, served by ``kg serve``).
PAGE_PATHS = (NETWORK_PATH, OVERLAPS_CHART_PATH)
#: Above this many nodes the network is not drawn (a picture of thousands of nodes is unreadable): the page
#: keeps its tables and says so.
MAX_DRAWN = 250
JUR_PREFIX = str(ID) + "jurisdiction/"
#: The nations first, in this order; other jurisdictions (England and Wales, the United Kingdom) after them.
NATION_ORDER = (JUR_PREFIX + "england", JUR_PREFIX + "wales")

# GOV.UK Design System colours (text colour, blue, red, dark grey, mid grey, light grey)
INK, BLUE, RED, GREY, MID, PALE = "#0b0c0c", "#1d70b8", "#d4351c", "#505a5f", "#6f777b", "#f3f2f1"
FONT = 'font-family="Arial, Helvetica, sans-serif"'


def _scales(width: float) -> str:
    """The picture shrinks with the page down to two thirds of its size, then scrolls sideways."""
    return f'style="width: 100%; max-width: {_n(width)}px; min-width: {_n(width * 2 / 3)}px; height: auto"'


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _n(x: float) -> str:
    """A coordinate as SVG text: at most one decimal, no trailing ``.0`` (the same bytes on every platform)."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


# ============================================================================================= the network

@dataclass
class Edge:
    """A body and an agreement: ``party`` when the body is a party to it, ``lead`` when an area of joint work
    or a lead rule of the agreement names the body as lead."""

    body: str
    agreement: str
    party: bool = False
    lead: bool = False


@dataclass
class Network:
    bodies: list[str]
    agreements: list[str]
    edges: list[Edge]
    #: agreement → the lead bodies it names (parties or not)
    leads: dict[str, set[str]] = field(default_factory=dict)


def network(site: Site) -> Network:
    """Bodies party to (or named lead by) an agreement, every agreement, and the edges between them."""
    edges: dict[tuple[str, str], Edge] = {}
    agreements = {r["a"].value for r in site.select("SELECT DISTINCT ?a WHERE { ?a a <%sAgreement> . FILTER(isIRI(?a)) }" % R)}
    for r in site.select("SELECT DISTINCT ?a ?b WHERE { ?a a <%sAgreement> ; <%sparty> ?b . FILTER(isIRI(?b)) }"
                         % (R, R)):
        a, b = r["a"].value, r["b"].value
        edges.setdefault((b, a), Edge(b, a)).party = True
    leads: dict[str, set[str]] = {}
    res = site.run_named("leads", {}, limit=ALL_ROWS)
    for row in (res.rows if res is not None else []):
        a, lead = (row.get("agreement") or {}).get("value", ""), (row.get("lead") or {}).get("value", "")
        kind = (row.get("kind") or {}).get("value", "")
        if a in agreements and lead and kind != "lead assignment":
            leads.setdefault(a, set()).add(lead)
            edges.setdefault((lead, a), Edge(lead, a)).lead = True
    bodies = sorted({e.body for e in edges.values()}, key=lambda i: (site.label(i).lower(), i))
    ordered = sorted(edges.values(), key=lambda e: (e.body, e.agreement))
    return Network(bodies, sorted(agreements, key=lambda i: (site.label(i).lower(), i)), ordered, leads)


def crossings(left: list[str], right: list[str], pairs: Iterable[tuple[str, str]]) -> int:
    """How many pairs of edges cross when ``left`` and ``right`` are drawn top to bottom in these orders
    (inversions of the right ends once the edges are sorted by their left ends; O(E log E))."""
    lp = {x: i for i, x in enumerate(left)}
    rp = {x: i for i, x in enumerate(right)}
    seq = [rp[r] for _l, r in sorted(pairs, key=lambda p: (lp[p[0]], rp[p[1]]))]
    size = len(right) + 1
    tree = [0] * (size + 1)
    count = 0
    for seen, v in enumerate(seq):
        # edges already placed whose right end is below v cross this one
        i, le = v + 1, 0
        while i > 0:
            le += tree[i]
            i -= i & -i
        count += seen - le
        i = v + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return count


def order_bipartite(left: list[str], right: list[str], pairs: list[tuple[str, str]],
                    sweeps: int = 8) -> tuple[list[str], list[str]]:
    """Orders of the two columns with few crossing edges (barycentre heuristic). Nodes with no edge go last;
    ties keep the previous order (so the starting order, by label, decides them)."""
    nl: dict[str, list[str]] = {x: [] for x in left}
    nr: dict[str, list[str]] = {x: [] for x in right}
    for a, b in pairs:
        nl[a].append(b)
        nr[b].append(a)

    def by_barycentre(nodes: list[str], nbrs: dict[str, list[str]], other: list[str]) -> list[str]:
        pos = {x: i for i, x in enumerate(other)}
        prev = {x: i for i, x in enumerate(nodes)}

        def key(x: str) -> tuple[int, float, int]:
            ns = nbrs[x]
            return (1, 0.0, prev[x]) if not ns else (0, sum(pos[n] for n in ns) / len(ns), prev[x])
        return sorted(nodes, key=key)

    best = (crossings(left, right, pairs), list(left), list(right))
    cur_l, cur_r = list(left), list(right)
    for _ in range(sweeps):
        cur_r = by_barycentre(cur_r, nr, cur_l)
        cur_l = by_barycentre(cur_l, nl, cur_r)
        c = crossings(cur_l, cur_r, pairs)
        if c < best[0]:
            best = (c, list(cur_l), list(cur_r))
        elif c == best[0] and (cur_l, cur_r) == (best[1], best[2]):
            break  # a fixed point
    # then swap neighbours while a swap removes crossings (the "transpose" step)
    c, cur_l, cur_r = best
    for _ in range(sweeps):
        improved = False
        for col in (cur_l, cur_r):
            for i in range(len(col) - 1):
                col[i], col[i + 1] = col[i + 1], col[i]
                n = crossings(cur_l, cur_r, pairs)
                if n < c:
                    c, improved = n, True
                else:
                    col[i], col[i + 1] = col[i + 1], col[i]
        if not improved:
            break
    return cur_l, cur_r


# geometry of the network picture (px)
_LINE, _PAD, _TOP = 17, 12, 44
_BODY_X, _AGR_X, _WIDTH = 290, 590, 960
_BODY_WRAP, _AGR_WRAP = 36, 47


def _lines(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [text]


def _column(nodes: list[str], labels: dict[str, list[str]], height: float) -> dict[str, float]:
    """Each node's centre: blocks of its label's height, spread evenly over ``height``."""
    blocks = [len(labels[n]) * _LINE + _PAD for n in nodes]
    gap = (height - sum(blocks)) / len(nodes) if nodes else 0
    y, out = _TOP + gap / 2, {}
    for n, h in zip(nodes, blocks):
        out[n] = y + h / 2
        y += h + gap
    return out


def _text(x: float, y: float, lines: list[str], anchor: str, extra: str = "") -> str:
    """Lines of a label, one ``tspan`` each, centred on ``y``. The space between two lines is kept at the line's
    far end from the anchor (unseen), so the text reads as the whole label (it is the link's accessible name)."""
    top = y - (len(lines) - 1) * _LINE / 2 + 5
    if anchor == "end":
        parts = [(" " if i else "") + t for i, t in enumerate(lines)]
    else:
        parts = [t + (" " if i < len(lines) - 1 else "") for i, t in enumerate(lines)]
    spans = "".join(f'<tspan x="{_n(x)}" y="{_n(top + i * _LINE)}">{_e(t)}</tspan>' for i, t in enumerate(parts))
    return f'<text text-anchor="{anchor}"{extra}>{spans}</text>'


def network_svg(site: Site, page: str, net: Network) -> Markup:
    """The network as an inline SVG: a link per node (to its page), the party edges thin and grey, the edges
    of a party that the agreement names as lead thick and blue."""
    pairs = [(e.body, e.agreement) for e in net.edges]
    bodies, agreements = order_bipartite(net.bodies, net.agreements, pairs)
    blab = {b: _lines(site.label(b), _BODY_WRAP) for b in bodies}
    alab = {a: _lines(site.label(a), _AGR_WRAP) for a in agreements}
    height = max(sum(len(v) * _LINE + _PAD for v in blab.values()),
                 sum(len(v) * _LINE + _PAD for v in alab.values()), 60)
    by, ay = _column(bodies, blab, height), _column(agreements, alab, height)
    total = _TOP + height + 10
    n_lead = sum(1 for e in net.edges if e.lead)
    desc = (f"{len(bodies)} bodies (left) and {len(agreements)} agreements (right). A line joins a body to each "
            f"agreement it is a party to; {n_lead} thick blue lines mark a body the agreement names as lead for an "
            "area of joint work or in a lead rule. The same facts are in the tables under the picture.")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="remit-picture remit-network" role="group" '
           f'width="{_WIDTH}" height="{_n(total)}" viewBox="0 0 {_WIDTH} {_n(total)}" {_scales(_WIDTH)} '
           f'aria-labelledby="network-title" aria-describedby="network-desc" {FONT} font-size="14">',
           '<title id="network-title">Bodies and the agreements they are party to</title>',
           f'<desc id="network-desc">{_e(desc)}</desc>',
           f'<style>.remit-picture a:focus {{ outline: 3px solid #ffdd00; }} '
           f'.remit-picture a:focus text, .remit-picture a:hover text {{ text-decoration: underline; }}</style>',
           f'<text x="{_BODY_X}" y="22" text-anchor="end" font-weight="bold" fill="{INK}">Bodies</text>',
           f'<text x="{_AGR_X}" y="22" font-weight="bold" fill="{INK}">Agreements</text>',
           '<g class="edges" fill="none" aria-hidden="true">']
    for lead in (False, True):  # lead edges drawn last, over the others
        for e in net.edges:
            if e.lead != lead:
                continue
            x1, y1, x2, y2 = _BODY_X + 8, by[e.body], _AGR_X - 8, ay[e.agreement]
            mid = (x1 + x2) / 2
            what = ("party and named lead" if e.party else "named lead, not a party") if e.lead else "party"
            style = (f'stroke="{BLUE}" stroke-width="4"' + ('' if e.party else ' stroke-dasharray="8 4"')
                     if e.lead else f'stroke="{MID}" stroke-width="1.5"')
            out.append(f'<path class="edge edge-{"lead" if e.lead else "party"}" data-body="{_e(e.body)}" '
                       f'data-agreement="{_e(e.agreement)}" d="M{_n(x1)} {_n(y1)} C{_n(mid)} {_n(y1)} {_n(mid)} '
                       f'{_n(y2)} {_n(x2)} {_n(y2)}" {style}><title>{_e(site.label(e.body))}: {what} of '
                       f'{_e(site.label(e.agreement))}</title></path>')
    out.append("</g>")
    leads_any = {b for v in net.leads.values() for b in v}
    out.append('<g class="nodes bodies">')
    for b in bodies:
        y = by[b]
        href = site.href(page, b) or ""
        fill = BLUE if b in leads_any else "#ffffff"
        out.append(f'<a class="node node-body" href="{_e(href)}" data-iri="{_e(b)}">'
                   f'<circle cx="{_BODY_X}" cy="{_n(y)}" r="7" fill="{fill}" stroke="{BLUE}" stroke-width="2"/>'
                   + _text(_BODY_X - 14, y, blab[b], "end", f' fill="{BLUE}"') + '</a>')
    out.append('</g><g class="nodes agreements">')
    for a in agreements:
        y = ay[a]
        href = site.href(page, a) or ""
        out.append(f'<a class="node node-agreement" href="{_e(href)}" data-iri="{_e(a)}">'
                   f'<rect x="{_AGR_X - 7}" y="{_n(y - 7)}" width="14" height="14" fill="#ffffff" stroke="{GREY}" '
                   f'stroke-width="2"/>' + _text(_AGR_X + 14, y, alab[a], "start", f' fill="{BLUE}"') + '</a>')
    out.append("</g></svg>")
    return Markup("".join(out))


def network_view(site: Site, page: str) -> dict[str, Any]:
    """The data of ``/network.html``: the picture (or why it is not drawn) and the same facts as two tables."""
    net = network(site)
    parties: dict[str, list[str]] = {}
    of_body: dict[str, list[str]] = {}
    for e in net.edges:
        if e.party:
            parties.setdefault(e.agreement, []).append(e.body)
            of_body.setdefault(e.body, []).append(e.agreement)
    by_label = lambda xs: sorted(xs, key=lambda i: (site.label(i).lower(), i))  # noqa: E731
    agreements = [{"link": site.link(page, a),
                   "parties": [site.link(page, b) for b in by_label(parties.get(a, []))],
                   "leads": [site.link(page, b) for b in by_label(net.leads.get(a, set()))]}
                  for a in net.agreements]
    bodies = [{"link": site.link(page, b),
               "agreements": [site.link(page, a) for a in by_label(of_body.get(b, []))],
               "leads": [site.link(page, a) for a in by_label(a for a, ls in net.leads.items() if b in ls)]}
              for b in net.bodies]
    drawn = len(net.bodies) + len(net.agreements) <= MAX_DRAWN
    return {"title": "Network of bodies and agreements",
            "svg": network_svg(site, page, net) if drawn else None, "max_drawn": MAX_DRAWN,
            "agreements": agreements, "bodies": bodies,
            "counts": {"bodies": len(net.bodies), "agreements": len(net.agreements),
                       "party": sum(1 for e in net.edges if e.party), "lead": sum(1 for e in net.edges if e.lead)},
            "chart_href": site.rel(page, OVERLAPS_CHART_PATH), "matrix_href": site.rel(page, "/matrix.html"),
            "agreements_href": site.rel(page, "/agreements.html"), "bodies_href": site.rel(page, "/bodies.html"),
            "leads_href": site.service(page, "/queries/leads")}


# ============================================================================================= the chart

def _jurisdiction_order(site: Site, j: str) -> tuple[int, str]:
    if j in NATION_ORDER:
        return (NATION_ORDER.index(j), "")
    return (len(NATION_ORDER) + (1 if not j else 0), site.label(j).lower() if j else "")


def overlap_groups(site: Site) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The distinct overlap records of the matrix on the status date (one per row key of the ``overlaps``
    query: bodies, functions, setting type, jurisdiction), grouped by (setting type, jurisdiction); the
    jurisdiction is "" when the overlap states none."""
    seen: dict[tuple[str, ...], dict[str, Any]] = {}
    for c in matrix_cells(site).values():
        for o in c["overlaps"]:
            seen.setdefault(tuple(o[k] for k in OVERLAP_KEY), o)
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for k in sorted(seen):
        o = seen[k]
        out.setdefault((o["settingType"], o["jurisdiction"]), []).append(o)
    return out


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _anchor(st: str, j: str) -> str:
    return f"overlaps-{slug(st, ST_PREFIX) or 'other'}-{slug(j, JUR_PREFIX) or 'none'}"


# geometry of the chart (px)
_LABEL_W, _COL_W, _BAR_MAX, _ROW, _HEAD = 210, 185, 75, 40, 52


def overlaps_chart_svg(site: Site, page: str, groups: dict[tuple[str, str], list[dict[str, Any]]],
                       settings: list[str], jurisdictions: list[str]) -> Markup:
    """Setting types (rows) × jurisdictions (columns); in each cell a bar as long as the overlaps there, its
    red part the duplications (no lead named), its blue part the overlaps a lead settles, and the numbers."""
    peak = max((len(v) for v in groups.values()), default=1) or 1
    labels = {st: _lines(_capital(site.label(st)), 26) for st in settings}
    heights = [max(_ROW, len(labels[st]) * _LINE + 14) for st in settings]
    width = _LABEL_W + _COL_W * len(jurisdictions) + 10
    total = _HEAD + sum(heights) + 10
    n_over = sum(len(v) for v in groups.values())
    n_dup = sum(1 for v in groups.values() for o in v if o["duplication"])
    desc = (f"{n_over} overlaps, {n_dup} of them duplications with no lead named, by setting type (rows) and the "
            "jurisdiction the overlap holds in (columns). In each cell the bar's red part counts the duplications "
            "and its blue part the overlaps for which a lead is named. The same numbers are in the table under the "
            "picture.")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="remit-picture remit-chart" role="group" '
           f'width="{width}" height="{_n(total)}" viewBox="0 0 {width} {_n(total)}" {_scales(width)} '
           f'aria-labelledby="chart-title" aria-describedby="chart-desc" {FONT} font-size="14">',
           '<title id="chart-title">Overlaps and duplications by setting type and nation</title>',
           f'<desc id="chart-desc">{_e(desc)}</desc>',
           '<style>.remit-picture a:focus { outline: 3px solid #ffdd00; } '
           '.remit-picture a:focus text, .remit-picture a:hover text { text-decoration: underline; }</style>',
           f'<g class="columns" font-weight="bold" fill="{INK}">',
           f'<text x="10" y="{_HEAD - 18}">Setting type</text>']
    for i, j in enumerate(jurisdictions):
        out.append(f'<text x="{_n(_LABEL_W + i * _COL_W)}" y="{_HEAD - 18}">{_e(site.label(j) if j else "Not stated")}</text>')
    out.append("</g>")
    y = float(_HEAD)
    for st, h in zip(settings, heights):
        mid = y + h / 2
        fill = PALE if settings.index(st) % 2 == 0 else "#ffffff"
        out.append(f'<g class="row"><rect x="0" y="{_n(y)}" width="{width}" height="{h}" fill="{fill}" aria-hidden="true"/>')
        href = site.href(page, st) or ""
        out.append(f'<a class="node node-setting-type" href="{_e(href)}" data-iri="{_e(st)}">' + _text(10, mid, labels[st], "start", f' fill="{BLUE}"') + "</a>")
        for i, j in enumerate(jurisdictions):
            recs = groups.get((st, j), [])
            if not recs:
                continue
            dup = sum(1 for o in recs if o["duplication"])
            x0 = _LABEL_W + i * _COL_W
            wd, ws = _BAR_MAX * dup / peak, _BAR_MAX * (len(recs) - dup) / peak
            words = (f"{dup} no lead" if dup == len(recs) else f"{len(recs)}: {dup} no lead" if dup
                     else f"{len(recs)} lead named")
            name = (f"{words}: {_capital(site.label(st))} in {site.label(j) if j else 'no stated jurisdiction'}, "
                    f"{len(recs)} overlap{'s' if len(recs) != 1 else ''}, {dup} with no lead named")
            out.append(f'<a class="bar" href="#{_anchor(st, j)}" data-setting-type="{_e(st)}" data-jurisdiction="{_e(j)}" '
                       f'data-overlaps="{len(recs)}" data-duplications="{dup}" aria-label="{_e(name)}">'
                       f'<title>{_e(name)}</title>')
            if dup:
                out.append(f'<rect x="{_n(x0)}" y="{_n(mid - 9)}" width="{_n(wd)}" height="18" fill="{RED}"/>')
            if len(recs) - dup:
                out.append(f'<rect x="{_n(x0 + wd)}" y="{_n(mid - 9)}" width="{_n(ws)}" height="18" fill="{BLUE}"/>')
            out.append(f'<text x="{_n(x0 + wd + ws + 6)}" y="{_n(mid + 5)}" fill="{INK}">{_e(words)}</text></a>')
        out.append("</g>")
        y += h
    out.append("</svg>")
    return Markup("".join(out))


def _cell_href(site: Site, page: str, st: str, fn: str) -> Optional[str]:
    s, f = slug(st, ST_PREFIX), slug(fn, FN_PREFIX)
    return site.rel(page, f"/matrix/{s}/{f}.html") if s and f and (st, fn) in matrix_cells(site) else None


def overlaps_chart_view(site: Site, page: str) -> dict[str, Any]:
    """The data of ``/charts/overlaps.html``: the chart and, under it, the counts and every overlap."""
    groups = overlap_groups(site)
    settings = sorted({st for st, _j in groups}, key=lambda i: (site.label(i).lower(), i))
    jurisdictions = sorted({j for _st, j in groups}, key=lambda j: _jurisdiction_order(site, j))
    rows = []
    for st in settings:
        for j in jurisdictions:
            recs = groups.get((st, j))
            if not recs:
                continue
            dup = sum(1 for o in recs if o["duplication"])
            rows.append({
                "anchor": _anchor(st, j), "setting": Value(_capital(site.label(st)), site.href(page, st), iri=st),
                "place": f"{_capital(site.label(st))} in {site.label(j) if j else 'a jurisdiction not stated'}",
                "where": site.link(page, j) if j else Value("not stated"),
                "setting_iri": st, "jurisdiction_iri": j,
                "overlaps": len(recs), "duplications": dup, "settled": len(recs) - dup,
                "pairs": [{"key": " ".join(o[k] for k in OVERLAP_KEY), "duplication": o["duplication"],
                           "body1": site.link(page, o["body1"]), "function1": site.link(page, o["function1"]),
                           "body2": site.link(page, o["body2"]), "function2": site.link(page, o["function2"]),
                           "leads": [site.link(page, x) for x in sorted(o["leads"], key=site.sort_key)],
                           "explain": _cell_href(site, page, st, o["function1"])} for o in recs]})
    n_over = sum(r["overlaps"] for r in rows)
    n_dup = sum(r["duplications"] for r in rows)
    return {"title": "Overlaps and duplications by setting type and nation",
            "svg": overlaps_chart_svg(site, page, groups, settings, jurisdictions) if groups else None,
            "rows": rows, "totals": {"overlaps": n_over, "duplications": n_dup, "settled": n_over - n_dup},
            "jurisdictions": [site.label(j) if j else "not stated" for j in jurisdictions],
            "matrix_href": site.rel(page, "/matrix.html"), "network_href": site.rel(page, NETWORK_PATH),
            "overlaps_href": site.service(page, "/queries/overlaps"),
            "duplications_href": site.service(page, "/queries/duplications")}

"""Every text colour of the pages' stylesheet on every background it is used on has a WCAG 2 contrast
ratio of at least 4.5:1."""

from __future__ import annotations

import re

from fixture import ROOT

CSS = (ROOT / "kg" / "publication" / "static" / "remit.css").read_text()


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_function() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#ffffff") < 4.5


def test_text_colours_on_backgrounds() -> None:
    var = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})", CSS))
    texts = [var["text"], var["muted"], var["link"], var["flag"]]
    backgrounds = [var["bg"]] + [var[v] for v in ("overlap", "coordinated", "single", "area")]
    backgrounds += re.findall(r"\.cell-[a-z-]+ \{ background: (#[0-9a-fA-F]{6})", CSS)
    backgrounds += re.findall(r"thead th \{ background: (#[0-9a-fA-F]{6})", CSS)
    assert len(backgrounds) >= 7
    low = [(t, b, round(contrast(t, b), 2)) for t in texts for b in backgrounds if contrast(t, b) < 4.5]
    assert not low, low

"""The GOV.UK Design System's stylesheet (npm ``govuk-frontend``, MIT, pinned in package-lock.json and installed by
``make node``) behind every page for people: found in ``node_modules``, never copied into the repository.

``kg serve`` serves the one compiled file at :data:`GOVUK_CSS` (:func:`kg.api.ui.mount_frontend`) and ``kg publish``
writes it to the same path of the static site, both as :func:`govuk_css` reads it. Only the stylesheet is used: not
the GOV.UK Transport typeface and not the crown, which are reserved to GOV.UK services. The stylesheet's two
``@font-face`` rules for that typeface are left out as it is read, so no browser ever fetches its files, and
``static/remit.css`` sets a system font stack. Without ``node_modules`` the pages still render as plain HTML,
with ``remit.css`` alone, and the server says why in its log.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from kg.paths import NODE_MODULES

__all__ = ["GOVUK_CSS", "govuk_css", "govuk_css_file", "MISSING"]

#: The stable path of the compiled stylesheet on the server and in the static site.
GOVUK_CSS = "/static/govuk/govuk-frontend.min.css"

#: What the log says when the stylesheet is not installed.
MISSING = ("GOV.UK Frontend is not installed (no node_modules/govuk-frontend): pages are served as plain HTML "
           "with remit.css only; run `make node` (npm ci) to install it")


def govuk_css_file() -> Optional[Path]:
    """The compiled stylesheet in ``$REMIT_NODE_MODULES`` or ``node_modules``; None when ``make node`` has not run."""
    root = Path(os.environ.get("REMIT_NODE_MODULES") or NODE_MODULES)
    f = root / "govuk-frontend" / "dist" / "govuk" / "govuk-frontend.min.css"
    return f if f.is_file() else None


#: An ``@font-face`` rule of the GOV.UK Transport typeface in the compiled stylesheet.
_TYPEFACE = re.compile(r"@font-face\s*\{[^{}]*font-family:\s*[\"']?GDS Transport[^{}]*\}")


def govuk_css() -> Optional[bytes]:
    """The stylesheet as Remit serves and publishes it: the compiled file without the typeface's ``@font-face``
    rules (a rule naming the family then falls back to the next font of its list). None when not installed."""
    f = govuk_css_file()
    if f is None:
        return None
    return _TYPEFACE.sub("", f.read_text(encoding="utf-8")).encode("utf-8")

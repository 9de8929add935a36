"""The GOV.UK Design System's stylesheet (npm ``govuk-frontend``, MIT, pinned in package-lock.json and installed by
``make node``) behind every page for people: found in ``node_modules``, never copied into the repository.

``kg serve`` serves the one compiled file at :data:`GOVUK_CSS` (:func:`kg.api.ui.mount_frontend`) and ``kg publish``
copies it to the same path of the static site. Only the stylesheet is used: not the GOV.UK Transport typeface and
not the crown, which are reserved to GOV.UK services (``static/remit.css`` sets a system font stack). Without
``node_modules`` the pages still render as plain HTML, with ``remit.css`` alone, and the server says why in its log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from kg.paths import NODE_MODULES

__all__ = ["GOVUK_CSS", "govuk_css_file", "MISSING"]

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

"""Browser-facing safety of HTML answers: a Content-Security-Policy on every HTML response, and the one
rule for which values may become links (:func:`is_web_link`).

The policy allows only this server's own scripts, styles, images and fetches ('self'); no inline script,
no ``eval``, no plugins, no framing, no form posts elsewhere. Inline *styles* stay allowed because the
query editor (YASGUI/CodeMirror, served from ``/ui/assets``) positions its widgets with style
attributes; ``data:`` images because its stylesheet uses one. The query UI's own script is the static
file ``/static/ui.js``, so ``script-src 'self'`` needs no inline exception. See docs/operations.md.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CONTENT_SECURITY_POLICY", "HtmlSecurityHeaders", "is_web_link"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

# browsers drop ASCII whitespace and control characters anywhere in a scheme ("java\tscript:")
_IGNORED = re.compile(r"[\x00-\x20\x7f]")


def is_web_link(value: Any) -> bool:
    """True when ``value`` is an absolute http(s) URL — the only values placed in ``href`` as links."""
    if not isinstance(value, str):
        return False
    v = _IGNORED.sub("", value[:16]).lower()
    return v.startswith(("http://", "https://"))


class HtmlSecurityHeaders:
    """ASGI middleware: every ``text/html`` response gets ``Content-Security-Policy`` and
    ``X-Content-Type-Options: nosniff`` (other responses pass unchanged)."""

    _ADD = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
            (b"x-content-type-options", b"nosniff")]

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.lower().startswith((b"text/html", b"application/xhtml+xml")):
                    names = {k.lower() for k, _v in headers}
                    headers += [(k, v) for k, v in self._ADD if k not in names]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

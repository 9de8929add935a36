"""Error responses: a short title and a detail, never a traceback, a file path or a version.

JSON clients (an Accept header naming JSON) get RFC 9457 ``application/problem+json``; others plain text.
"""

from __future__ import annotations

import json
from typing import Mapping, Optional

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["error_response", "wants_json"]

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required",
           412: "Precondition Failed", 413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
           416: "Range Not Satisfiable", 422: "Unprocessable Content", 429: "Too Many Requests",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def wants_json(request: Optional[Request]) -> bool:
    if request is None:
        return False
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/plain" not in accept.split(",")[0]


def error_response(request: Optional[Request], status: int, title: str, detail: str = "",
                   headers: Optional[Mapping[str, str]] = None, **extra: object) -> Response:
    """A 4xx/5xx answer in JSON (problem details) or text."""
    hdrs = dict(headers or {})
    if wants_json(request):
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        body.update(extra)
        return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                        media_type="application/problem+json", headers=hdrs)
    text = f"{status} {_TITLES.get(status, 'Client Error' if status < 500 else 'Server Error')}: {title}\n"
    if detail:
        text += detail.rstrip() + "\n"
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8", headers=hdrs)

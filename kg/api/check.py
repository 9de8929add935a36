"""``POST /check`` and ``POST /diff``: draft agreements checked and compared over HTTP.

``POST /check`` takes the draft as the raw body (``Content-Type: text/turtle``, ``application/ld+json`` or
``application/yaml``; options in the query string: ``replaces``, ``asOf``, ``contactMaxAge``) or as JSON
(``application/json``: ``{"draft": "...", "format": "yaml", "name": "...", "replaces": ..., "asOf": ...,
"contactMaxAge": "3"}``). The answer is the report: JSON by default, ``text/turtle`` (sh:ValidationReport),
``application/sarif+json`` or ``text/plain`` by Accept (or ``format=json|turtle|sarif|text``).

``POST /diff`` takes JSON ``{"old": side, "new": side, "raw": false}`` where a side is the draft text
(``{"draft": "...", "format": "yaml"}``) or an agreement in the graph (``"agreement:slug"`` or
``{"agreement": "…"}``), or ``multipart/form-data`` with files ``old`` and ``new`` (format from the file
name or part type) and optional fields ``raw``. Answer: JSON, ``text/markdown`` or ``text/plain``.

The served store is never touched: the check runs on an in-memory copy of the sources in a worker process
with a deadline (``REMIT_CHECK_TIMEOUT``; past it **503**) and a memory limit. Bodies over
``REMIT_MAX_BODY_BYTES``: **413**. Bad drafts (syntax, a remote ``@context``, ``owl:imports``, XML): **400**
with the file, line and column.

For people, ``GET /check`` and ``GET /diff`` are forms, and a post that asks for HTML (a browser's Accept)
gets the report or the diff as a page (:mod:`kg.api.check_pages`).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any, Awaitable, Callable, Optional

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from kg.api import check_pages as pages
from kg.api.errors import error_response
from kg.api.limits import BodyTooLarge, read_body
from kg.revision.diff import DiffResult, diff_specs_in_worker, render_diff
from kg.revision.draft import CONTEXT_PATH, MEDIA_TYPES, DraftError, DraftTimeout, detect_format, run_isolated
from kg.settings import Settings

__all__ = ["make_check_router", "CHECK_MEDIA", "guarded"]

CHECK_MEDIA = {"json": "application/json", "turtle": "text/turtle; charset=utf-8",
               "sarif": "application/sarif+json", "text": "text/plain; charset=utf-8"}
_DIFF_MEDIA = {"json": "application/json", "markdown": "text/markdown; charset=utf-8", "text": "text/plain; charset=utf-8"}
_ACCEPT = [("application/sarif+json", "sarif"), ("text/turtle", "turtle"), ("application/json", "json"),
           ("text/markdown", "markdown"), ("text/plain", "text")]


def _pick(request: Request, allowed: dict[str, str], default: str = "json") -> Optional[str]:
    fmt = request.query_params.get("format")
    if fmt:
        return fmt if fmt in allowed else None
    accept = request.headers.get("accept", "")
    if not accept or "*/*" in accept:
        return default
    best: Optional[tuple[float, int, str]] = None
    for i, part in enumerate(accept.split(",")):
        bits = [b.strip() for b in part.split(";")]
        q = 1.0
        for b in bits[1:]:
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        for media, key in _ACCEPT:
            if bits[0].lower() == media and key in allowed and q > 0 and (best is None or q > best[0]):
                best = (q, -i, key)
    if best is None and any(p.split(";")[0].strip() in ("application/*", "text/*") for p in accept.split(",")):
        return default
    return best[2] if best else None


def _draft_error(request: Request, exc: Any) -> Response:
    return error_response(request, 400, "bad draft", str(exc), **exc.to_dict())


async def guarded(request: Request, done: str, what: str, work: Callable[[], Awaitable[Any]]) -> Any:
    """Await ``work()`` (read, parse and run one draft job); its refusals become responses: all slots busy →
    503, a bad draft → 400 with file/line/column, past the deadline → 503, other bad input → 400."""
    try:
        return await work()
    except _Busy:
        return error_response(request, 503, "server busy", f"too many drafts are being {done}; try again",
                              {"Retry-After": "5"})
    except DraftError as exc:
        return _draft_error(request, exc)
    except DraftTimeout as exc:
        return error_response(request, 503, f"{what} timed out", str(exc), {"Retry-After": "30"})
    except ValueError as exc:
        return error_response(request, 400, "bad request", str(exc))


def _store_of(settings: Settings) -> Optional[str]:
    """``kg serve --store URL``: checks and diffs read the external store's asserted graph, not ``data/``."""
    return str(settings.remote_store_url) if settings.is_remote else None


def make_check_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    slots = threading.BoundedSemaphore(max(1, settings.workers))

    async def run(fn: Any, *args: Any) -> Any:
        if not slots.acquire(blocking=False):
            raise _Busy()
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            slots.release()

    @router.api_route("/check", methods=["GET", "HEAD"], include_in_schema=False)
    async def check_form(request: Request) -> Response:
        return pages.check_page(request, pages.CheckForm())

    @router.api_route("/diff", methods=["GET", "HEAD"], include_in_schema=False)
    async def diff_form(request: Request) -> Response:
        return pages.diff_page(request, pages.DiffForm())

    @router.post("/check", tags=["drafts"], summary="Check a draft agreement against the graph")
    async def check(request: Request) -> Response:
        # imported on the first check, not at start: kg.revision.check loads the build pipeline (0.5 s)
        from kg.revision.check import ParamError, check_draft, exit_code, render_check, validate_check_params

        if pages.wants_page(request):
            return await _check_page(request, settings, run)
        query: dict[str, Any] = dict(request.query_params)
        try:  # the same validation as kg check: 400 naming the parameter, never a silent default
            params = validate_check_params(query, allowed=_QUERY_PARAMS)
        except ParamError as exc:
            return error_response(request, 400, "bad parameter", str(exc), parameter=exc.param)
        fmt = _pick(request, CHECK_MEDIA)
        if fmt is None:
            return error_response(request, 406, "not acceptable",
                                  "available: application/json, text/turtle, application/sarif+json, text/plain")
        try:
            body = await read_body(request, settings.max_body_bytes)
        except BodyTooLarge as exc:
            return error_response(request, 413, "draft too large", str(exc))
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()

        async def work() -> Any:
            nonlocal params
            text_bytes = body
            if ctype == "application/json":
                try:
                    doc = json.loads(body)
                except ValueError as exc:
                    return error_response(request, 400, "bad request", f"the body is not JSON: {exc}")
                if not isinstance(doc, dict) or not isinstance(doc.get("draft"), str):
                    return error_response(request, 400, "bad request",
                                          'a JSON body is {"draft": "<text>", "format": "turtle|json-ld|yaml", ...}')
                given = {("inputFormat" if k == "format" else k): v for k, v in doc.items() if k != "draft"}
                merged = {k: v for k, v in query.items() if k != "format"}
                merged.update(given)
                try:
                    params = validate_check_params(merged, {"inputFormat": "format"}, allowed=_BODY_PARAMS)
                except ParamError as exc:
                    return error_response(request, 400, "bad parameter", str(exc), parameter=exc.param)
                draft_text = doc["draft"]
                if params.input_format is None:
                    return error_response(request, 400, "bad parameter", "format is required: turtle, json-ld or yaml",
                                          parameter="format")
                draft_format = params.input_format
            elif ctype in MEDIA_TYPES:
                draft_format = MEDIA_TYPES[ctype]
                try:
                    draft_text = text_bytes.decode("utf-8")
                except UnicodeDecodeError:
                    return error_response(request, 400, "bad draft", "the draft is not UTF-8")
            elif "xml" in ctype:
                return error_response(request, 400, "bad draft", "RDF/XML and XML are not accepted: send Turtle, JSON-LD or YAML")
            else:
                return error_response(request, 415, "unsupported media type",
                                      "send text/turtle, application/ld+json, application/yaml or application/json")
            options = params.options
            options.data_dirs = [str(settings.data_dir)]
            # kg serve --store URL: the current graph is the store's asserted graph (as kg check --store URL)
            options.store_url = _store_of(settings)
            name = params.name or "draft"
            result = await run(check_draft, draft_text, draft_format, name, options, settings.check_timeout,
                               settings.check_memory_mb << 20)
            return result

        result = await guarded(request, "checked", "check", work)
        if isinstance(result, Response):
            return result
        headers = {"Remit-Check-Status": "fail" if exit_code(result, params.fail_on) else "pass"}
        return Response(render_check(result, fmt), media_type=CHECK_MEDIA[fmt], headers=headers)

    @router.post("/diff", tags=["drafts"], summary="Compare two versions of an agreement")
    async def diff(request: Request) -> Response:
        if pages.wants_page(request):
            return await _diff_page(request, settings, run)
        fmt = _pick(request, _DIFF_MEDIA)
        if fmt is None:
            return error_response(request, 406, "not acceptable", "available: application/json, text/markdown, text/plain")
        try:
            body = await read_body(request, settings.max_body_bytes)
        except BodyTooLarge as exc:
            return error_response(request, 413, "drafts too large", str(exc))
        ctype = request.headers.get("content-type", "")
        async def work() -> Any:
            if ctype.split(";")[0].strip().lower() == "application/json":
                try:
                    doc = json.loads(body)
                except ValueError as exc:
                    return error_response(request, 400, "bad request", f"the body is not JSON: {exc}")
                if not isinstance(doc, dict) or "old" not in doc or "new" not in doc:
                    return error_response(request, 400, "bad request", 'a JSON body is {"old": side, "new": side}')
                specs = [_spec(doc[k], k) for k in ("old", "new")]
                raw = bool(doc.get("raw", False))
            elif ctype.lower().startswith("multipart/form-data"):
                specs, raw = await _multipart(request, body, detect_format)
            else:
                return error_response(request, 415, "unsupported media type", "send application/json or multipart/form-data")
            raw = raw or request.query_params.get("raw", "").lower() in ("1", "true", "yes")
            data = await run(run_isolated, diff_specs_in_worker, (specs[0], specs[1], raw, _store_of(settings)),
                             settings.check_timeout,
                             settings.check_memory_mb << 20)
            return data

        data = await guarded(request, "compared", "diff", work)
        if isinstance(data, Response):
            return data
        result = DiffResult(data["old"], data["new"], data["agreements"], data.get("raw"))
        return Response(render_diff(result, fmt), media_type=_DIFF_MEDIA[fmt])

    @router.get("/contexts/remit-draft.context.jsonld", tags=["drafts"], summary="The published draft context")
    async def context() -> Response:
        return Response(CONTEXT_PATH.read_bytes(), media_type="application/ld+json")

    return router


class _Busy(Exception):
    pass


#: The query parameters of POST /check (``format`` is the report's format) and the keys of a JSON body
#: (``format`` is the draft's syntax); any other is a 400, never ignored.
_QUERY_PARAMS = {"replaces", "asOf", "contactMaxAge", "failOn", "name", "format"}
_BODY_PARAMS = {"replaces", "asOf", "contactMaxAge", "failOn", "name", "inputFormat"}


def _spec(value: Any, which: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"ref": value}
    if isinstance(value, dict):
        if isinstance(value.get("agreement"), str):
            return {"ref": value["agreement"]}
        if isinstance(value.get("draft"), str):
            fmt = value.get("format")
            if fmt not in ("turtle", "json-ld", "yaml"):
                raise ValueError(f"{which}.format must be turtle, json-ld or yaml")
            return {"text": value["draft"], "format": fmt, "name": str(value.get("name") or which)}
    raise ValueError(f'{which} is "agreement:slug", {{"agreement": IRI}} or {{"draft": text, "format": ...}}')


#: Most parts of a multipart /diff body (it needs three: old, new, raw); more: 400 before parsing.
MAX_MULTIPART_PARTS = 8
_BOUNDARY = re.compile(r'boundary="?([^";,\s]+)"?', re.IGNORECASE)


async def _multipart(request: Request, body: bytes, detect_format: Any) -> tuple[list[dict[str, Any]], bool]:
    from email.parser import BytesParser
    from email.policy import HTTP

    ctype = request.headers.get("content-type", "")
    boundary = _BOUNDARY.search(ctype)
    if boundary is None:
        raise ValueError("the multipart body has no boundary parameter")
    parts_sent = body.count(b"--" + boundary.group(1).encode("latin-1")) - 1  # the last one closes the body
    if parts_sent > MAX_MULTIPART_PARTS:  # counted before parsing: the parser's time grows with the parts
        raise ValueError(f"the multipart body has {parts_sent} parts; at most {MAX_MULTIPART_PARTS} are read "
                         "(old, new and raw)")

    def parse() -> Any:
        return BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body)

    msg = await asyncio.get_running_loop().run_in_executor(None, parse)  # off the event loop
    parts: dict[str, tuple[str, str, str]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename() or str(name)
        payload = part.get_payload(decode=True) or b""
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"part {name!r} is not UTF-8") from None
        parts[str(name)] = (text, filename, part.get_content_type())
    specs = []
    for which in ("old", "new"):
        if which not in parts:
            raise ValueError(f"multipart body has no part {which!r}")
        text, filename, ctype = parts[which]
        if ctype == "text/plain" and not filename.endswith((".ttl", ".yaml", ".yml", ".jsonld", ".json")):
            specs.append({"ref": text.strip()})
            continue
        fmt = detect_format(filename, None if ctype in ("application/octet-stream", "text/plain") else ctype, text)
        specs.append({"text": text, "format": fmt, "name": filename})
    raw = parts.get("raw", ("", "", ""))[0].strip().lower() in ("1", "true", "yes")
    return specs, raw


# ----------------------------------------------------------------------------------------------- pages

#: The fields of the check form (``format`` is the draft's syntax, ``auto`` to work it out).
_CHECK_FIELDS = {"draft", "file", "format", "replaces", "asOf", "contactMaxAge", "failOn", "name"}
_DIFF_FIELDS = {f"{side}{what}" for side in ("old", "new") for what in ("Text", "File", "Agreement")}
_EXT = {"yaml": "yaml", "turtle": "ttl", "json-ld": "jsonld"}
_AGREEMENT_REF = re.compile(r"^agreement:[A-Za-z0-9][A-Za-z0-9._-]*$")
#: After a refused body, at most this many times the body limit is read (and dropped) before the 413 page.
_DRAIN_FACTOR = 4


async def _read_page_fields(request: Request, settings: Settings, allowed: set[str]) -> dict[str, pages.FormField]:
    """The fields of a form post (or, for the check, a raw draft body as the field ``draft``); raises
    :class:`BodyTooLarge` or :class:`ValueError` (an unknown field, a bad form)."""
    try:
        body = await read_body(request, settings.max_body_bytes)
    except BodyTooLarge:
        await pages.drain(request, _DRAIN_FACTOR * settings.max_body_bytes)
        raise
    ctype = request.headers.get("content-type", "")
    media = ctype.split(";")[0].strip().lower()
    if media in MEDIA_TYPES and "draft" in allowed:
        try:
            return {"draft": pages.FormField(body.decode("utf-8")), "format": pages.FormField(MEDIA_TYPES[media])}
        except UnicodeDecodeError:
            raise ValueError("the draft is not UTF-8 text") from None
    fields = await pages.read_form(ctype, body)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValueError(f"the form has fields this page does not know: {', '.join(unknown[:5])}")
    return fields


def _too_large(settings: Settings) -> str:
    return (f"The draft is too large: at most {settings.max_body_bytes:,} bytes are checked "
            f"({settings.max_body_bytes // 1024} KiB). Split it, or check it with kg check on your own computer.")


async def _check_page(request: Request, settings: Settings, run: Callable[..., Awaitable[Any]]) -> Response:
    """``POST /check`` for a browser: the report (or what stopped it) as a page, with the form filled again."""
    from kg.revision.check import ParamError, check_draft, exit_code, validate_check_params

    form = pages.CheckForm()
    try:
        fields = await _read_page_fields(request, settings, _CHECK_FIELDS)
    except BodyTooLarge:
        return pages.check_page(request, form, 413, problem=_too_large(settings))
    except ValueError as exc:
        return pages.check_page(request, form, 400, problem=f"The form could not be read: {exc}.")

    def text(name: str) -> str:
        f = fields.get(name)
        return f.text.strip() if f is not None else ""

    upload = fields.get("file")
    if upload is not None and upload.filename and upload.text.strip():
        form.draft, form.filename = upload.text, upload.filename
    elif "draft" in fields:
        form.draft = fields["draft"].text
    form.syntax = text("format") or "auto"
    form.replaces, form.as_of = text("replaces"), text("asOf")
    if form.syntax not in dict(pages.SYNTAXES):
        form.syntax = "auto"
        return pages.check_page(request, form, 400, problem="Choose YAML, Turtle or JSON-LD for the draft's syntax.")
    if not form.draft.strip():
        return pages.check_page(request, form, 400, problem="Paste a draft in the box, or choose a file, then check it.")
    try:
        syntax = form.syntax if form.syntax != "auto" else detect_format(form.filename, None, form.draft)
    except DraftError as exc:
        return pages.check_page(request, form, 400, errors=pages.located_errors(exc, form.draft))
    name = form.filename or f"draft.{_EXT[syntax]}"
    raw = {"inputFormat": syntax, "name": name}
    for key in ("replaces", "asOf", "contactMaxAge", "failOn"):
        if text(key):
            raw[key] = text(key)
    try:
        params = validate_check_params(raw, {"inputFormat": "format"}, allowed=_BODY_PARAMS)
    except ParamError as exc:
        what = {"asOf": "The as-of date", "replaces": "The agreement it replaces"}.get(exc.param, exc.param)
        return pages.check_page(request, form, 400, problem=f"{what}: {exc}")
    options = params.options
    options.data_dirs = [str(settings.data_dir)]
    options.store_url = _store_of(settings)
    try:
        result = await run(check_draft, form.draft, syntax, name, options, settings.check_timeout,
                           settings.check_memory_mb << 20)
    except _Busy:
        return pages.check_page(request, form, 503, problem="Too many drafts are being checked; try again in a minute.")
    except DraftTimeout:
        return pages.check_page(request, form, 503, problem="The check took longer than this server allows "
                                f"({settings.check_timeout:g} s); try again later, or run kg check on your own computer.")
    except DraftError as exc:
        return pages.check_page(request, form, 400, errors=pages.located_errors(exc, form.draft))
    except ValueError as exc:
        return pages.check_page(request, form, 400, problem=str(exc))
    fails = bool(exit_code(result, params.fail_on))
    response = pages.check_page(request, form, result=result, fails=fails)
    response.headers["Remit-Check-Status"] = "fail" if fails else "pass"
    return response


async def _diff_page(request: Request, settings: Settings, run: Callable[..., Awaitable[Any]]) -> Response:
    """``POST /diff`` for a browser: the domain diff as a page. A side is an uploaded file, pasted text or an
    agreement of the served graph (in that order of preference)."""
    form = pages.DiffForm()
    try:
        fields = await _read_page_fields(request, settings, _DIFF_FIELDS)
    except BodyTooLarge:
        return pages.diff_page(request, form, 413, problem=_too_large(settings).replace("The draft is", "The drafts are"))
    except ValueError as exc:
        return pages.diff_page(request, form, 400, problem=f"The form could not be read: {exc}.")
    known = dict(pages.agreements(request))
    specs: list[dict[str, Any]] = []
    for which in ("old", "new"):
        side = getattr(form, which)
        upload = fields.get(which + "File")
        pasted = fields.get(which + "Text")
        side.agreement = (fields.get(which + "Agreement") or pages.FormField("")).text.strip()
        if upload is not None and upload.filename and upload.text.strip():
            side.text, side.filename = upload.text, upload.filename
        elif pasted is not None:
            side.text = pasted.text
    for which in ("old", "new"):
        side = getattr(form, which)
        try:
            if side.text.strip():
                fmt = detect_format(side.filename, None, side.text)
                name = side.filename or f"{which} draft"
                if specs and specs[0].get("name") == name:  # two uploads of the same name: errors name their side
                    name = f"{name} (new version)"
                specs.append({"text": side.text, "format": fmt, "name": name})
            elif side.agreement:
                if not _AGREEMENT_REF.match(side.agreement) or (known and side.agreement not in known):
                    return pages.diff_page(request, form, 400, problem=f"The {which} version: Remit has no agreement "
                                           f"named {side.agreement!r}; choose one from the list.")
                specs.append({"ref": side.agreement})
            else:
                return pages.diff_page(request, form, 400, problem=f"Choose the {which} version: paste a draft, "
                                       "upload a file" + (" or pick an agreement." if which == "old" else "."))
        except DraftError as exc:
            return pages.diff_page(request, form, 400, errors=pages.located_errors(exc, side.text), error_side=which)
    try:
        data = await run(run_isolated, diff_specs_in_worker, (specs[0], specs[1], False, _store_of(settings)),
                         settings.check_timeout,
                         settings.check_memory_mb << 20)
    except _Busy:
        return pages.diff_page(request, form, 503, problem="Too many drafts are being compared; try again in a minute.")
    except DraftTimeout:
        return pages.diff_page(request, form, 503, problem="The comparison took longer than this server allows; "
                               "try again later, or run kg diff on your own computer.")
    except DraftError as exc:
        which = next((w for w, s in zip(("old", "new"), specs) if exc.name in (s.get("name"), s.get("ref"))), "new")
        return pages.diff_page(request, form, 400, errors=pages.located_errors(exc, getattr(form, which).text),
                               error_side=which)
    except ValueError as exc:
        return pages.diff_page(request, form, 400, problem=str(exc))
    return pages.diff_page(request, form, data=data)

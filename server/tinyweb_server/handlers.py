"""The route handlers: parse the request, call the store (off the event loop), answer a model."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from tinyweb.snapshot import Snapshot
from tinyweb_server.keys import CONFIG_KEY, STORE_KEY, TOKEN_KEY, WRITER_KEY
from tinyweb_server.middlewares import PREVIEW_ROUTE, ApiError
from tinyweb_server.models import (
    DeleteResult,
    DomainCount,
    Health,
    IngestResult,
    SnapshotPage,
    Stats,
)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500  # one listing stays a small response
MAX_OFFSET = 2**63 - 1  # SQLite's largest integer: a larger OFFSET cannot even be bound to the query
MAX_IDEMPOTENCY_KEY = 255  # characters; the extension sends a UUID
# A body up to this size is validated on the event loop (about 0.2 ms for 100 KB: less than handing it to a
# thread costs); a larger one in a thread, so one huge snapshot never stalls the other requests.
INLINE_VALIDATION_BYTES = 256 * 1024
# A stored page may show its images, styles and fonts but never run a script or submit a form.
SNAPSHOT_CSP = "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src * data:"

CHALLENGE = re.compile(r"[A-Za-z0-9_-]{16,128}")  # the extension sends 24 random base64url characters

Record = TypeVar("Record", bound=BaseModel)
Found = TypeVar("Found")
routes = web.RouteTableDef()
SNAPSHOT_PATH = "/api/snapshots/{id:[0-9a-f]{32}}"


def reply(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


def validation_details(exc: ValidationError) -> list[dict]:
    return [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


async def read_record(request: web.Request, model: type[Record], what: str, limit: int) -> tuple[Record, bytes]:
    """The request body as a `model` (and the body), or the ApiError that says why not (413, 415, 408, 400, 422);
    `what` names it in messages ("the snapshot")."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"body of {request.content_length} bytes is over the limit of {limit} bytes")
    if request.content_type != "application/json":
        raise ApiError(415, f"send {what} as application/json, not {request.content_type or 'nothing'}")
    timeout = request.app[CONFIG_KEY].body_timeout_s
    try:
        async with asyncio.timeout(timeout):
            body = await request.read()  # aiohttp stops at client_max_size with 413 when there is no Content-Length
    except TimeoutError:
        raise ApiError(408, f"the body did not arrive within {timeout:g} s: send it again") from None
    if len(body) > limit:
        raise ApiError(413, f"body of {len(body)} bytes is over the limit of {limit} bytes")
    if not body:
        raise ApiError(400, f"empty body: send {what} as JSON")
    try:
        if len(body) <= INLINE_VALIDATION_BYTES:
            return model.model_validate_json(body), body
        return await asyncio.to_thread(model.model_validate_json, body), body
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if any(err["type"] == "json_invalid" for err in errors):
            raise ApiError(400, f"malformed JSON: {errors[0]['msg']}") from None
        raise ApiError(422, f"not a valid {model.__name__} record", validation_details(exc)) from None


async def read_snapshot(request: web.Request) -> tuple[Snapshot, bytes]:
    return await read_record(request, Snapshot, "the snapshot", request.app[CONFIG_KEY].max_body_bytes)


@routes.post("/api/snapshots")
async def post_snapshot(request: web.Request) -> web.Response:
    """Store one snapshot; answered only after it is committed. A duplicate gets 200 and the same id."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ApiError(400, f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    snapshot, body = await read_snapshot(request)
    snapshot_id, created = await request.app[WRITER_KEY].add(snapshot, body)
    response = reply(IngestResult(id=snapshot_id, created=created), status=201 if created else 200)
    response.headers["Location"] = f"/api/snapshots/{snapshot_id}"
    if key is not None:
        response.headers["Idempotency-Key"] = key  # the id is content-derived, so a retry is idempotent anyway
    return response


def page_arg(request: web.Request, name: str, default: int, low: int, high: int | None = None) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, not {text!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"{name} must be {bounds}, not {value}")
    return value


def page_window(request: web.Request, default: int) -> tuple[int, int]:
    """A listing's ?limit= (1 to MAX_PAGE_SIZE, `default` without one) and ?offset=."""
    return page_arg(request, "limit", default, 1, MAX_PAGE_SIZE), page_arg(request, "offset", 0, 0, MAX_OFFSET)


def next_offset(offset: int, count: int, total: int) -> int | None:
    """Where the next page of a listing starts, or None after the last."""
    return offset + count if offset + count < total else None


@routes.get("/api/snapshots")
async def list_snapshots(request: web.Request) -> web.Response:
    """One page of snapshots, most recently stored first: ?limit=50&offset=0."""
    limit, offset = page_window(request, DEFAULT_PAGE_SIZE)
    store = request.app[STORE_KEY]

    def load() -> tuple[list, int]:
        return store.rows(limit, offset), store.count()

    items, total = await asyncio.to_thread(load)
    following = next_offset(offset, len(items), total)
    return reply(SnapshotPage(items=items, total=total, limit=limit, offset=offset, next_offset=following))


async def stored(request: web.Request, lookup: Callable[[str], Found | None], what: str) -> Found:
    """What `lookup` (a store method, run off the loop) finds for the route's {id}, or a 404 naming `what`."""
    ident = request.match_info["id"]
    found = await asyncio.to_thread(lookup, ident)
    if found is None:
        raise ApiError(404, f"no {what} {ident}")
    return found


async def load_snapshot(request: web.Request) -> Snapshot:
    return await stored(request, request.app[STORE_KEY].get, "snapshot")


@routes.get(SNAPSHOT_PATH)
async def get_snapshot(request: web.Request) -> web.Response:
    """The whole stored record."""
    return reply(await load_snapshot(request))


@routes.get(SNAPSHOT_PATH + "/html", name=PREVIEW_ROUTE)
async def get_snapshot_html(request: web.Request) -> web.Response:
    """The captured page itself, under a sandbox CSP: it renders, nothing in it runs."""
    snapshot = await load_snapshot(request)
    response = web.Response(text=snapshot.html, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = SNAPSHOT_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def deleted(request: web.Request, delete: Callable[[str], bool], what: str) -> web.Response:
    """Delete the route's {id} with `delete` (a store method, run off the loop): its answer, or a 404."""
    ident = request.match_info["id"]
    if not await asyncio.to_thread(delete, ident):
        raise ApiError(404, f"no {what} {ident}")
    return reply(DeleteResult(id=ident, deleted=True))


@routes.delete(SNAPSHOT_PATH)
async def delete_snapshot(request: web.Request) -> web.Response:
    return await deleted(request, request.app[STORE_KEY].delete, "snapshot")


@routes.get("/api/stats")
async def stats(request: web.Request) -> web.Response:
    figures = await asyncio.to_thread(request.app[STORE_KEY].stats)
    top = [DomainCount(domain=d, count=n) for d, n in figures.top_domains]
    return reply(Stats(count=figures.count, bytes=figures.html_bytes, domains=figures.domains, top_domains=top))


def tinyweb_version() -> str:
    try:
        return version("tinyweb")
    except PackageNotFoundError:
        return "unknown"


@routes.get("/api/health")
async def health(request: web.Request) -> web.Response:
    """Public. With ?challenge=, the server proves it holds the pairing token without showing it (see Health)."""
    challenge = request.query.get("challenge")
    if challenge is None:
        return reply(Health(version=tinyweb_version()))
    if not CHALLENGE.fullmatch(challenge):
        raise ApiError(400, "challenge must be 16 to 128 characters of A-Z, a-z, 0-9, - and _")
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        raise ApiError(400, "the connection was lost before the request was read")
    return reply(Health(version=tinyweb_version(), proof=server_proof(request.app[TOKEN_KEY], sockname[1], challenge)))


def server_proof(token: str, port: int, challenge: str) -> str:
    """What the extension computes with the token it was paired with (extension/src/lib/queue.js)."""
    digest = hmac.new(token.encode(), f"tinyweb-server-proof\n{port}\n{challenge}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()

"""CORS for the extension, the bearer token, and the one JSON error shape, as aiohttp middlewares."""

from __future__ import annotations

import hmac
import logging
from fnmatch import fnmatchcase
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from tinyweb_server.keys import CONFIG_KEY, TOKEN_KEY
from tinyweb_server.models import ErrorBody, ErrorCode, ErrorDetail
from tinyweb_server.studio import StudioError

log = logging.getLogger("tinyweb.server")

CODES: dict[int, ErrorCode] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    421: "misdirected_request",
    422: "invalid_record",
    429: "too_many_requests",
    503: "unavailable",
}
PUBLIC_PATHS = {"/", "/studio", "/api/health", "/openapi.json"}
PREVIEW_ROUTE = "snapshot-html"  # the one route that takes ?token=
KEY_ROUTE = "keyed-"  # routes named so take a short-lived ?key= (signed for one job or page) instead of the token
CORS_METHODS = "GET, POST, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key"
CORS_MAX_AGE = "600"  # seconds a browser may reuse a preflight answer


class ApiError(Exception):
    """An error answered as {"error": {status, code, message, details}}."""

    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


def error_response(status: int, message: str, details: list[dict[str, Any]] | None = None) -> web.Response:
    code = CODES.get(status, "internal_error" if status >= 500 else "bad_request")
    body = ErrorBody(error=ErrorDetail(status=status, code=code, message=message, details=details or []))
    response = web.json_response(body.model_dump(mode="json"), status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tinyweb"'
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure, ours or aiohttp's (unknown route, body too large), in the same JSON shape."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.details)
    except StudioError as exc:
        return error_response(exc.status, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are not errors
        message = exc.reason if exc.text is None or exc.text.startswith(f"{exc.status}:") else exc.text
        response = error_response(exc.status, message)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except ConnectionError as exc:
        # The client went away (closed the tab, lost the network) mid-request: no fault of ours, and the answer
        # (which aiohttp then fails to write, quietly) is for the record only.
        log.info("client went away during %s %s (%s)", request.method, request.path, exc)
        return error_response(400, "the connection was lost before the request was read")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error: see the server's log")


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer only requests addressed to us by a loopback name, the listening address or an --allowed-host:
    a web page whose own name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host."""
    host = request.headers.get("Host")
    if not request.app[CONFIG_KEY].answers_host(host):
        shown = "no Host header" if host is None else f"Host {host[:100]!r}"
        return error_response(
            421,
            f"{shown} is not this server's: use http://127.0.0.1:{request.app[CONFIG_KEY].port}/ "
            "(with --allow-remote, name other hosts with --allowed-host)",
        )
    return await handler(request)


def allowed_origin(request: web.Request) -> str | None:
    origin = request.headers.get("Origin")
    if origin and any(fnmatchcase(origin, pattern) for pattern in request.app[CONFIG_KEY].allowed_origins):
        return origin
    return None


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer preflights and add CORS headers for extension origins only; other origins get none."""
    origin = allowed_origin(request)
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        if origin is None:
            return error_response(403, "cross-origin requests are only answered for the tinyweb extension")
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
        if request.headers.get("Access-Control-Request-Private-Network") == "true":
            response.headers["Access-Control-Allow-Private-Network"] = "true"
    else:
        response = await handler(request)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def request_token(request: web.Request) -> str | None:
    """The bearer token of the request. Only the preview of a snapshot's page may give it as ?token= (the
    dashboard's iframe cannot send headers): a token in a URL ends up in logs and history, so no other route
    takes one."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.method in ("GET", "HEAD") and request.match_info.route.name == PREVIEW_ROUTE:
        return request.query.get("token") or None
    return None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api/ route but health needs the pairing token (compared in constant time); a keyed route (a studio
    stream, a generated page) takes its ?key= instead, which its handler checks."""
    route = request.match_info.route.name or ""
    keyed = route.startswith(KEY_ROUTE) and "key" in request.query and "Authorization" not in request.headers
    if request.path.startswith("/api/") and request.path not in PUBLIC_PATHS and not keyed:
        token = request_token(request)
        if token is None:
            raise ApiError(401, "missing token: send 'Authorization: Bearer <token>' (printed by `tinyweb serve`)")
        # The token is ASCII (token_urlsafe); a header that is not (invalid UTF-8 arrives as surrogates) is wrong.
        if not token.isascii() or not hmac.compare_digest(token.encode(), request.app[TOKEN_KEY].encode()):
            raise ApiError(401, "wrong token: use the one `tinyweb serve` printed (kept in DATA/server-token)")
    return await handler(request)

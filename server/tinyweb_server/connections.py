"""Open connections, capped below the open-file limit: idle sockets are closed before they can shut the server out.

Every socket costs a file descriptor. Without a cap, a few hundred sockets that never send a request use them all
up: `accept()` fails with EMFILE and nobody is answered, not even /api/health. The listening socket's protocol
factory (`ConnectionGuard`) keeps the count at or below `limit`: when a new connection would go over it, the
oldest connection that is not in the middle of a request (idle between requests, or still sending its headers)
is closed to make room, and only when every connection is busy does the new one get a fast 503 in the JSON error
shape. Long-lived streams (a route that keeps its answer open) are counted apart, in `streams`, and capped there.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from tinyweb.errors import UsageError
from tinyweb_server.config import DEFAULT_MAX_CONNECTIONS, MIN_CONNECTIONS
from tinyweb_server.models import ErrorBody, ErrorDetail

MAX_STREAMS = 16  # open event streams (one studio tab holds one); each also holds a descriptor
MAX_LINGERING_REFUSALS = 16  # past this, a refused connection is answered and closed in the same breath
# The listen backlog, which is also how many connections asyncio accepts in one go before any of them reaches the
# guard: each such batch, and the connections it closed to make room (their descriptors are freed one loop turn
# later), may be open on top of the cap for a moment.
BACKLOG = 32
# Descriptors kept for everything but client sockets: the listening socket, SQLite's database, -wal and -shm
# for each of two connections, the token file, the thread pool's files, the log; the lingering refusals; and the
# two accept batches.
FD_RESERVE = 32 + MAX_LINGERING_REFUSALS + 2 * BACKLOG
REFUSAL_LINGER_S = 1  # a refused connection reads (and drops) what the client sends this long after the 503
RETRY_AFTER_S = 1


def connection_limit(requested: int | None) -> int:
    """The cap: `requested`, or the soft open-file limit less FD_RESERVE (at most DEFAULT_MAX_CONNECTIONS);
    a limit too low to serve anything is an error that says how to raise it."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - FD_RESERVE - MAX_STREAMS if soft != resource.RLIM_INFINITY else DEFAULT_MAX_CONNECTIONS
    if room < MIN_CONNECTIONS:
        raise UsageError(
            f"the open-file limit is {soft}: tinyweb serve needs at least {FD_RESERVE + MAX_STREAMS + MIN_CONNECTIONS} "
            "(raise it with `ulimit -n 1024`)"
        )
    if requested is None:
        return min(room, DEFAULT_MAX_CONNECTIONS)
    if requested > room:
        raise UsageError(
            f"--max-connections {requested} is over what the open-file limit of {soft} leaves ({room}): "
            "lower it or raise the limit with `ulimit -n`"
        )
    return requested


def refusal_bytes() -> bytes:
    """The whole HTTP answer a connection over the cap gets: a 503 in the JSON error shape."""
    error = ErrorDetail(status=503, code="unavailable", message="too many open connections: try again in a moment")
    body = ErrorBody(error=error).model_dump_json().encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Retry-After: {RETRY_AFTER_S}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class Refusal(asyncio.Protocol):
    """A connection over the cap: answered 503 at once, then closed once the client has had time to read it
    (closing with its request unread would reset the connection, and the answer could be lost with it)."""

    def __init__(self, guard: ConnectionGuard, linger: bool):
        self.guard = guard
        self.linger = linger
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.guard.refusal)
        if self.linger:
            self.timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER_S, transport.close)
        else:
            transport.close()

    def data_received(self, data: bytes) -> None:
        pass  # the request is not read: it was refused before it was sent

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.guard.refusals.discard(self)


class ConnectionGuard:
    """The protocol factory of the listening socket: aiohttp's `web.Server` (attached once the runner has made
    it) behind a cap of `limit` open connections, and `max_streams` long-lived streams counted apart."""

    def __init__(self, limit: int, max_streams: int = MAX_STREAMS):
        self.limit = limit
        self.max_streams = max_streams
        self.server: web.Server | None = None
        self.busy: dict[RequestHandler, int] = {}  # connections in the middle of a request → requests in flight
        self.streams: set[RequestHandler] = set()
        self.refusals: set[Refusal] = set()
        self.refusal = refusal_bytes()
        self.evicted = 0
        self.refused = 0

    def attach(self, server: web.Server) -> None:
        """Guard `server`'s connections: its request handler now marks each connection busy while it runs."""
        handler = server.request_handler

        async def counted(request: web.BaseRequest) -> web.StreamResponse:
            protocol = request.protocol
            self.busy[protocol] = self.busy.get(protocol, 0) + 1
            try:
                return await handler(request)
            finally:
                left = self.busy.pop(protocol) - 1
                if left:
                    self.busy[protocol] = left

        server.request_handler = counted  # read by each RequestHandler the factory makes from now on
        self.server = server

    def open_connections(self) -> list[RequestHandler]:
        """Client connections but streams, oldest first; not those closed already (aiohttp lists a connection
        until its handler task has finished, after its socket is closed)."""
        assert self.server is not None, "attach() the runner's server first"
        return [c for c in self.server.connections if c.transport is not None and c not in self.streams]

    def __call__(self) -> asyncio.Protocol:
        connections = self.open_connections()
        if len(connections) >= self.limit:
            idle = next((c for c in connections if c not in self.busy), None)
            if idle is None:
                self.refused += 1
                refusal = Refusal(self, linger=len(self.refusals) < MAX_LINGERING_REFUSALS)
                if refusal.linger:
                    self.refusals.add(refusal)
                return refusal
            idle.force_close()  # its descriptor is freed as the loop runs; FD_RESERVE covers the moment between
            self.evicted += 1
        assert self.server is not None
        return self.server()

    @contextlib.asynccontextmanager
    async def stream(self, request: web.Request) -> AsyncIterator[None]:
        """Count the request's connection as a long-lived stream while the block runs: against `max_streams`,
        not `limit`, and never closed as idle. A full house of streams is a 503, like one of connections."""
        if len(self.streams) >= self.max_streams:
            raise web.HTTPServiceUnavailable(text=f"too many open streams (at most {self.max_streams}): close one")
        protocol = request.protocol
        self.streams.add(protocol)
        try:
            yield
        finally:
            self.streams.discard(protocol)

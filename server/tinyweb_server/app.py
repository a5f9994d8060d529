"""`init_app(config)`: the aiohttp application of the ingest server; `serve(config)` runs it."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from tinyweb.errors import UsageError
from tinyweb.store import Store
from tinyweb_server.config import LINGER_S, ServerConfig, load_or_create_token
from tinyweb_server.connections import BACKLOG, ConnectionGuard, connection_limit
from tinyweb_server.dashboard import dashboard
from tinyweb_server.handlers import routes, tinyweb_version
from tinyweb_server.keys import CONFIG_KEY, GUARD_KEY, STORE_KEY, STUDIO_KEY, TOKEN_KEY, WRITER_KEY
from tinyweb_server.middlewares import auth_middleware, cors_middleware, error_middleware, host_middleware
from tinyweb_server.openapi import build_openapi
from tinyweb_server.studio import Studio
from tinyweb_server.studio_page import studio_page
from tinyweb_server.studio_routes import routes as studio_routes
from tinyweb_server.writer import SnapshotWriter

LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the store and start the writer and the studio with the app; stop the studio (its worker) and the
    writer, then close the store."""
    store = Store(app[CONFIG_KEY].data_dir, background_checkpoints=True)
    writer = SnapshotWriter(store)
    app[STORE_KEY] = store
    app[WRITER_KEY] = writer
    app[STUDIO_KEY] = Studio(app[CONFIG_KEY], store)
    writer.start()
    try:
        yield
    finally:
        await app[STUDIO_KEY].close()
        await writer.stop()
        store.close()


def init_app(config: ServerConfig) -> web.Application:
    """The server for `config`: token made or read now (so it can be printed), store opened on startup."""
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[host_middleware, cors_middleware, error_middleware, auth_middleware],
    )
    app[CONFIG_KEY] = config
    app[TOKEN_KEY] = load_or_create_token(config.data_dir)
    app[GUARD_KEY] = ConnectionGuard(connection_limit(config.max_connections))
    openapi = build_openapi(tinyweb_version())

    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(openapi)

    app.router.add_routes(routes)
    app.router.add_routes(studio_routes)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/", dashboard)
    app.router.add_get("/studio", studio_page)
    app.cleanup_ctx.append(store_ctx)

    async def end_streams(app: web.Application) -> None:
        app[STUDIO_KEY].end_streams()

    app.on_shutdown.append(end_streams)
    return app


async def start_server(app: web.Application) -> tuple[web.AppRunner, asyncio.AbstractServer]:
    """Set the app up and listen on its config's host and port, behind its ConnectionGuard. Stop it with
    `listener.close()`, then `await runner.cleanup()`."""
    config = app[CONFIG_KEY]
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=config.keepalive_timeout_s, lingering_time=LINGER_S)
    await runner.setup()
    guard = app[GUARD_KEY]
    assert runner.server is not None
    guard.attach(runner.server)
    try:
        listener = await asyncio.get_running_loop().create_server(
            guard, config.host, config.port, reuse_address=True, backlog=BACKLOG
        )
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror} (is another `tinyweb serve` running? "
            "pick another port with --port)"
        ) from None
    except BaseException:
        await runner.cleanup()
        raise
    return runner, listener


def serve(config: ServerConfig, announce: Callable[[str, str], None]) -> None:
    """Run the server for `config` until SIGINT or SIGTERM; `announce(url, token)` is called once it listens."""
    app = init_app(config)
    log = logging.getLogger("tinyweb.server")
    if not log.handlers:  # one line per event on stderr: a dropped upload, an unexpected error and its traceback
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    asyncio.run(run_until_stopped(app, announce))


async def run_until_stopped(app: web.Application, announce: Callable[[str, str], None]) -> None:
    config = app[CONFIG_KEY]
    runner, listener = await start_server(app)
    host = config.host
    announce(f"http://{'[' + host + ']' if ':' in host else host}:{config.port}/", app[TOKEN_KEY])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        listener.close()
        await runner.cleanup()  # open requests finish (aiohttp's shutdown timeout), then the store closes

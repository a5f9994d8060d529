"""`init_app(config)`: the aiohttp application of the ingest server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from tinyweb.store import Store
from tinyweb_server.config import ServerConfig, load_or_create_token
from tinyweb_server.dashboard import dashboard
from tinyweb_server.handlers import routes, tinyweb_version
from tinyweb_server.keys import CONFIG_KEY, STORE_KEY, TOKEN_KEY, WRITER_KEY
from tinyweb_server.middlewares import auth_middleware, cors_middleware, error_middleware
from tinyweb_server.openapi import build_openapi
from tinyweb_server.writer import SnapshotWriter


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the store and start the writer with the app; stop the writer, then close the store."""
    store = Store(app[CONFIG_KEY].data_dir, background_checkpoints=True)
    writer = SnapshotWriter(store)
    app[STORE_KEY] = store
    app[WRITER_KEY] = writer
    writer.start()
    try:
        yield
    finally:
        await writer.stop()
        store.close()


def init_app(config: ServerConfig) -> web.Application:
    """The server for `config`: token made or read now (so it can be printed), store opened on startup."""
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[cors_middleware, error_middleware, auth_middleware],
    )
    app[CONFIG_KEY] = config
    app[TOKEN_KEY] = load_or_create_token(config.data_dir)
    openapi = build_openapi(tinyweb_version())

    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(openapi)

    app.router.add_routes(routes)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/", dashboard)
    app.cleanup_ctx.append(store_ctx)
    return app


def serve(config: ServerConfig, announce: Callable[[str, str], None]) -> None:
    """Run the server for `config` until interrupted; `announce(url, token)` is called once it is set up."""
    app = init_app(config)
    host = config.host
    announce(f"http://{'[' + host + ']' if ':' in host else host}:{config.port}/", app[TOKEN_KEY])
    web.run_app(app, host=host, port=config.port, print=None, access_log=None)

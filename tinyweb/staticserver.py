"""A static file server on loopback, in a background thread: for the demo site, tests and benchmarks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from aiohttp import web

HeaderHook = Callable[[str], dict[str, str]]


class StaticServer:
    """Serve `root` at http://127.0.0.1:PORT/ until stopped. `headers(path)` may add response headers;
    `routes` are served before the files (tests add slow or failing endpoints this way)."""

    def __init__(
        self,
        root: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        headers: HeaderHook | None = None,
        routes: Iterable[web.RouteDef] = (),
    ):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"cannot serve {self.root}: not a directory")
        self.host = host
        self.port = port
        self.headers = headers
        self.routes = list(routes)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def _app(self) -> web.Application:
        app = web.Application()
        root = self.root
        hook = self.headers

        async def index(request: web.Request) -> web.StreamResponse:
            rel = request.match_info["path"]
            path = (root / rel).resolve()
            if not path.is_relative_to(root):
                raise web.HTTPForbidden()
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                raise web.HTTPNotFound()
            response = web.FileResponse(path)
            if hook:
                response.headers.update(hook("/" + rel))
            return response

        app.router.add_routes(self.routes)
        app.router.add_get("/{path:.*}", index)
        return app

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the port the OS picked for port 0

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def start(self) -> StaticServer:
        self._thread = threading.Thread(target=self._run, name="tinyweb-static", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

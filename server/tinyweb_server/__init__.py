"""The local ingest server: the browser extension posts `Snapshot`s here and they land in the store.

Authentication: every `/api/` route except `/api/health` needs the pairing token as `Authorization: Bearer
<token>`. Only the page preview (`GET /api/snapshots/{id}/html`) also accepts `?token=<token>`, because the
dashboard's preview iframe cannot send headers. `/`, `/api/health` and `/openapi.json` are public; every request
must name this server in its Host header (see middlewares.host_middleware).
"""

from tinyweb_server.app import init_app, serve
from tinyweb_server.config import MAX_BODY_BYTES, ServerConfig, load_or_create_token

__all__ = ["MAX_BODY_BYTES", "ServerConfig", "init_app", "load_or_create_token", "serve"]

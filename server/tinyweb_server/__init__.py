"""The local ingest server: the browser extension posts `Snapshot`s here and they land in the store.

Authentication: every `/api/` route except `/api/health` needs the pairing token as `Authorization: Bearer
<token>`. GET routes also accept `?token=<token>`, because the dashboard's preview iframe cannot send headers;
writes (POST, DELETE) accept only the header. `/`, `/api/health` and `/openapi.json` are public.
"""

from tinyweb_server.app import init_app, serve
from tinyweb_server.config import MAX_BODY_BYTES, ServerConfig, load_or_create_token

__all__ = ["MAX_BODY_BYTES", "ServerConfig", "init_app", "load_or_create_token", "serve"]

"""The typed application keys, in one place."""

from __future__ import annotations

from aiohttp import web

from tinyweb.store import Store
from tinyweb_server.config import ServerConfig
from tinyweb_server.connections import ConnectionGuard
from tinyweb_server.studio import Studio
from tinyweb_server.writer import SnapshotWriter

CONFIG_KEY = web.AppKey("config", ServerConfig)
TOKEN_KEY = web.AppKey("token", str)
STORE_KEY = web.AppKey("store", Store)
WRITER_KEY = web.AppKey("writer", SnapshotWriter)
GUARD_KEY = web.AppKey("connections", ConnectionGuard)
STUDIO_KEY = web.AppKey("studio", Studio)

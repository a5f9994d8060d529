"""The ingest server over real HTTP on 127.0.0.1, with a real SQLite store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from tinyweb.cli import main
from tinyweb.errors import UsageError
from tinyweb.snapshot import CaptureStats, Snapshot
from tinyweb.store import Store
from tinyweb_server import MAX_BODY_BYTES, ServerConfig, init_app
from tinyweb_server.config import TOKEN_FILE
from tinyweb_server.handlers import SNAPSHOT_CSP
from tinyweb_server.keys import TOKEN_KEY

SMALL_LIMIT = 4096  # bytes: a test server's body limit, so the 413 test need not send 20 MiB


def make_snapshot(n: int = 0, **fields) -> Snapshot:
    return Snapshot(
        url=f"https://example.com/page/{n}",
        html=f"<html><body><p>page {n}</p><script>alert(1)</script></body></html>",
        title=f"Page {n}",
        stats=CaptureStats(element_count=1, raw_html_bytes=10, capture_ms=1.0),
        **fields,
    )


@contextlib.asynccontextmanager
async def serving(data_dir, **config):
    """A real server on 127.0.0.1 and a session pointed at it; yields (session, token)."""
    app = init_app(ServerConfig(data_dir=data_dir, **config))
    async with TestServer(app, host="127.0.0.1") as server, ClientSession(str(server.make_url("/"))) as session:
        yield session, app[TOKEN_KEY]


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


async def post(session, token, snapshot: Snapshot, **headers):
    headers = auth(token, **{"Content-Type": "application/json", **headers})
    async with session.post("api/snapshots", data=snapshot.model_dump_json(), headers=headers) as response:
        return response.status, await response.json()


async def expect_error(response, status: int, code: str) -> dict:
    assert response.status == status
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    return body["error"]


def test_post_then_duplicate_is_stored_once(tmp_path):
    snap = make_snapshot()

    async def scenario():
        async with serving(tmp_path) as (session, token):
            first = await post(session, token, snap, **{"Idempotency-Key": "k-1"})
            second = await post(session, token, snap, **{"Idempotency-Key": "k-1"})
            return first, second

    (status1, body1), (status2, body2) = asyncio.run(scenario())
    assert (status1, body1) == (201, {"id": snap.id, "created": True})
    assert (status2, body2) == (200, {"id": snap.id, "created": False})
    with Store(tmp_path) as store:
        assert store.count() == 1
        assert store.get(snap.id).html == snap.html


def test_every_rejection_has_the_error_shape(tmp_path):
    valid = make_snapshot().model_dump_json()

    async def scenario():
        async with serving(tmp_path, max_body_bytes=SMALL_LIMIT) as (session, token):
            json_headers = auth(token, **{"Content-Type": "application/json"})
            async with session.post("api/snapshots", data=valid, headers={"Content-Type": "application/json"}) as r:
                assert "missing token" in (await expect_error(r, 401, "unauthorized"))["message"]
            wrong = {"Authorization": "Bearer not-the-token", "Content-Type": "application/json"}
            async with session.post("api/snapshots", data=valid, headers=wrong) as r:
                await expect_error(r, 401, "unauthorized")
            async with session.get("api/snapshots") as r:
                await expect_error(r, 401, "unauthorized")
            big = json.dumps({"html": "x" * SMALL_LIMIT})
            async with session.post("api/snapshots", data=big, headers=json_headers) as r:
                await expect_error(r, 413, "payload_too_large")

            async def chunks():  # no Content-Length: aiohttp's own limit answers, in our shape
                for _ in range(4):
                    yield b"x" * SMALL_LIMIT

            async with session.post("api/snapshots", data=chunks(), headers=json_headers) as r:
                await expect_error(r, 413, "payload_too_large")
            async with session.post(
                "api/snapshots", data=valid, headers=auth(token, **{"Content-Type": "text/plain"})
            ) as r:
                await expect_error(r, 415, "unsupported_media_type")
            extra = json.dumps({**json.loads(valid), "secret_field": 1})
            async with session.post("api/snapshots", data=extra, headers=json_headers) as r:
                error = await expect_error(r, 422, "invalid_record")
                assert {
                    "loc": ["secret_field"],
                    "msg": "Extra inputs are not permitted",
                    "type": "extra_forbidden",
                } in (error["details"])
            async with session.post("api/snapshots", data='{"url": ', headers=json_headers) as r:
                await expect_error(r, 400, "bad_request")
            async with session.get("api/snapshots/" + "0" * 32, headers=auth(token)) as r:
                await expect_error(r, 404, "not_found")
            async with session.delete("api/snapshots/" + "0" * 32, headers=auth(token)) as r:
                await expect_error(r, 404, "not_found")
            async with session.get("no/such/route") as r:
                await expect_error(r, 404, "not_found")
            async with session.get("api/snapshots?limit=abc", headers=auth(token)) as r:
                await expect_error(r, 400, "bad_request")
            # writes take the token only from the header, never from the query
            async with session.delete(f"api/snapshots/{'0' * 32}?token={token}") as r:
                await expect_error(r, 401, "unauthorized")

    asyncio.run(scenario())
    with Store(tmp_path) as store:
        assert store.count() == 0


def test_list_get_html_delete_stats(tmp_path):
    snaps = [make_snapshot(n) for n in range(5)]

    async def scenario():
        async with serving(tmp_path) as (session, token):
            for snap in snaps:
                assert (await post(session, token, snap))[0] == 201
            pages, offset = [], 0
            while offset is not None:
                async with session.get(f"api/snapshots?limit=2&offset={offset}", headers=auth(token)) as r:
                    page = await r.json()
                pages.append(page)
                offset = page["next_offset"]
            async with session.get(f"api/snapshots/{snaps[0].id}", headers=auth(token)) as r:
                record = Snapshot.model_validate(await r.json())
            async with session.get(f"api/snapshots/{snaps[0].id}/html?token={token}") as r:
                html = (r.status, r.content_type, r.headers["Content-Security-Policy"], await r.text())
            async with session.delete(f"api/snapshots/{snaps[0].id}", headers=auth(token)) as r:
                deleted = (r.status, await r.json())
            async with session.get("api/stats", headers=auth(token)) as r:
                stats = await r.json()
            return pages, record, html, deleted, stats

    pages, record, html, deleted, stats = asyncio.run(scenario())
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert all(p["total"] == 5 for p in pages)
    listed = [item["id"] for p in pages for item in p["items"]]
    assert sorted(listed) == sorted(s.id for s in snaps)
    item = pages[0]["items"][0]
    assert {"id", "url", "title", "domain", "stored_at", "html_bytes"} <= set(item)
    assert item["domain"] == "example.com"
    assert record == snaps[0]
    assert html == (200, "text/html", SNAPSHOT_CSP, snaps[0].html)
    assert "sandbox" in html[2] and "script-src" not in html[2]
    assert deleted == (200, {"id": snaps[0].id, "deleted": True})
    assert stats["count"] == 4
    assert stats["domains"] == 1
    assert stats["bytes"] == sum(len(s.html.encode()) for s in snaps[1:])
    assert stats["top_domains"] == [{"domain": "example.com", "count": 4}]


def test_public_routes_health_openapi_dashboard(tmp_path):
    async def scenario():
        async with serving(tmp_path) as (session, _):
            async with session.get("api/health") as r:
                health = (r.status, await r.json())
            async with session.get("openapi.json") as r:
                spec = json.loads(await r.text())
            async with session.get("/") as r:
                page = (r.status, r.content_type, await r.text())
            return health, spec, page

    health, spec, page = asyncio.run(scenario())
    assert health[0] == 200 and health[1]["status"] == "ok"
    assert spec["openapi"].startswith("3.1")
    schemas = spec["components"]["schemas"]
    assert "secret_field" not in json.dumps(schemas)
    assert schemas["Snapshot"]["additionalProperties"] is False
    assert {"Snapshot", "CaptureStats", "Viewport", "ErrorBody", "IngestResult"} <= set(schemas)
    assert spec["paths"]["/api/snapshots"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Snapshot"
    }
    assert page[0] == 200 and page[1] == "text/html"
    assert "/api/snapshots" in page[2] and 'sandbox=""' in page[2]


def test_cors_only_for_extension_origins(tmp_path):
    async def scenario():
        results = {}
        async with serving(tmp_path) as (session, _):
            for origin in ("chrome-extension://abcdef", "moz-extension://1234-5678", "http://evil.example"):
                preflight = {
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, content-type",
                }
                async with session.options("api/snapshots", headers=preflight) as r:
                    options = (r.status, r.headers.get("Access-Control-Allow-Origin"))
                    allowed_headers = r.headers.get("Access-Control-Allow-Headers", "")
                async with session.get("api/snapshots", headers={"Origin": origin}) as r:
                    denied = (r.status, r.headers.get("Access-Control-Allow-Origin"))
                results[origin] = options, allowed_headers, denied
        return results

    results = asyncio.run(scenario())
    for origin in ("chrome-extension://abcdef", "moz-extension://1234-5678"):
        options, allowed_headers, denied = results[origin]
        assert options == (204, origin)
        assert "Authorization" in allowed_headers
        assert denied == (401, origin)  # the extension can read why it was refused
    options, allowed_headers, denied = results["http://evil.example"]
    assert options[1] is None and allowed_headers == ""
    assert denied == (401, None)


def test_token_file_is_private_and_reused(tmp_path):
    first = init_app(ServerConfig(data_dir=tmp_path))[TOKEN_KEY]
    second = init_app(ServerConfig(data_dir=tmp_path))[TOKEN_KEY]
    assert first == second and len(first) >= 40
    path = tmp_path / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first
    assert init_app(ServerConfig(data_dir=tmp_path / "other"))[TOKEN_KEY] != first


def test_remote_host_needs_allow_remote(tmp_path):
    with pytest.raises(UsageError, match="--allow-remote"):
        init_app(ServerConfig(data_dir=tmp_path, host="0.0.0.0"))
    with pytest.raises(UsageError):
        ServerConfig(data_dir=tmp_path, host="192.168.1.10")
    assert ServerConfig(data_dir=tmp_path, host="0.0.0.0", allow_remote=True).allow_remote
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        ServerConfig(data_dir=tmp_path, host=host)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "--allow-remote" in result.output


def test_serve_has_help():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--allow-remote" in result.output and "--port" in result.output


def test_default_body_limit_is_a_named_constant():
    assert MAX_BODY_BYTES == 20 * 1024 * 1024
    assert ServerConfig(data_dir=".").max_body_bytes == MAX_BODY_BYTES


def test_concurrent_posts_are_all_acknowledged_and_stored(tmp_path):
    snaps = [make_snapshot(n) for n in range(50)]

    async def scenario():
        async with serving(tmp_path) as (session, token):
            return await asyncio.gather(*(post(session, token, snap) for snap in snaps))

    results = asyncio.run(scenario())
    assert [status for status, _ in results] == [201] * 50
    assert sorted(body["id"] for _, body in results) == sorted(s.id for s in snaps)
    with Store(tmp_path) as store:
        assert store.count() == 50
        assert set(store.ids()) == {s.id for s in snaps}

"""The holes an attack run found (issue 20), each shut and kept shut: the server answers only its own names,
odd headers and dropped uploads stay inside the error contract, idle and slow sockets cannot shut it out."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import socket
import stat
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from tests.server_process import ServeProcess, free_port
from tests.test_server import make_snapshot, post, serving
from tinyweb.cli import main
from tinyweb.errors import StoreError, UsageError
from tinyweb.private import MARKER
from tinyweb.store import Store
from tinyweb_server import ServerConfig, init_app
from tinyweb_server.app import start_server
from tinyweb_server.config import MIN_CONNECTIONS, TOKEN_FILE
from tinyweb_server.keys import CONFIG_KEY, GUARD_KEY, TOKEN_KEY


@contextlib.asynccontextmanager
async def raw_server(data_dir, **config):
    """A real server on 127.0.0.1; yields (port, token) for tests that write the bytes of a request by hand."""
    app = init_app(ServerConfig(data_dir=data_dir, **config))
    async with TestServer(app, host="127.0.0.1") as server:
        yield server.port, app[TOKEN_KEY]


async def exchange(port: int, request: bytes, close_after: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as is and read the whole answer: (status, lower-case headers, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict((k.lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line))
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    writer.close()
    return status, headers, body


def request_bytes(method: str, path: str, host: bytes | None, *headers: bytes, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode()]
    if host is not None:
        lines.append(b"Host: " + host)
    lines += [*headers, b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def error_of(status: int, headers: dict[str, str], body: bytes, expected: int, code: str) -> str:
    """The message of an error answer, after checking it has the one JSON error shape."""
    assert status == expected, body
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert set(json.loads(body)) == {"error"}
    assert (error["status"], error["code"], error["details"]) == (expected, code, [])
    assert error["message"]
    return error["message"]


# --- 6. DNS rebinding: only our own names ------------------------------------------------------------------------


def test_requests_for_other_host_names_get_421(tmp_path):
    async def scenario():
        async with raw_server(tmp_path) as (port, token):
            answers = {}
            for host in (b"evil.example", b"evil.example:%d" % port, b"127.0.0.1.evil.example", b"x@127.0.0.1"):
                answers[host] = await exchange(port, request_bytes("GET", "/api/health", host))
            no_host = b"GET /api/health HTTP/1.0\r\n\r\n"  # (HTTP/1.1 without one is aiohttp's own 400)
            answers[b"none"] = await exchange(port, no_host)
            # a leaked token is no key through a rebound name either
            bearer = b"Authorization: Bearer " + token.encode()
            answers[b"token"] = await exchange(port, request_bytes("GET", "/api/stats", b"evil.example", bearer))
            preflight = (b"Origin: chrome-extension://abc", b"Access-Control-Request-Method: POST")
            answers[b"options"] = await exchange(port, request_bytes("OPTIONS", "/api/snapshots", b"evil", *preflight))
            ours = {}
            for host in (
                b"127.0.0.1:%d" % port,
                b"localhost:%d" % port,
                b"LOCALHOST.",
                b"[::1]:%d" % port,
                b"127.0.0.2",
            ):
                ours[host] = await exchange(port, request_bytes("GET", "/api/health", host))
            ours[b"stats"] = await exchange(port, request_bytes("GET", "/api/stats", b"localhost", bearer))
            return answers, ours

    answers, ours = asyncio.run(scenario())
    for host, answer in answers.items():
        message = error_of(*answer, 421, "misdirected_request")
        assert "127.0.0.1" in message, host
    assert "evil.example" in error_of(*answers[b"evil.example"], 421, "misdirected_request")
    for host, (status, _, body) in ours.items():
        assert status == 200, (host, body)


def test_allowed_host_is_answered_only_with_allow_remote(tmp_path):
    with pytest.raises(UsageError, match="--allow-remote"):
        ServerConfig(data_dir=tmp_path, allowed_hosts=("studio.lan",))
    with pytest.raises(UsageError, match="not a host name"):
        ServerConfig(data_dir=tmp_path, allow_remote=True, allowed_hosts=("studio.lan/x",))

    async def scenario():
        config = {"allow_remote": True, "allowed_hosts": ("Studio.LAN:8765",)}
        async with raw_server(tmp_path, **config) as (port, _):
            named = await exchange(port, request_bytes("GET", "/api/health", b"studio.lan"))
            other = await exchange(port, request_bytes("GET", "/api/health", b"other.lan"))
            return named, other

    named, other = asyncio.run(scenario())
    assert named[0] == 200
    error_of(*other, 421, "misdirected_request")


# --- 7. errors outside the contract --------------------------------------------------------------------------------


def test_authorization_header_that_is_not_utf8_is_a_401(tmp_path):
    async def scenario():
        async with raw_server(tmp_path) as (port, _):
            bad = b"Authorization: Bearer \xff\xfe\x80token"
            return [
                await exchange(port, request_bytes("GET", "/api/stats", b"127.0.0.1", bad)),
                await exchange(port, request_bytes("GET", "/api/snapshots", b"127.0.0.1", b"Authorization: \xc3(")),
            ]

    for answer in asyncio.run(scenario()):
        error_of(*answer, 401, "unauthorized")
        assert answer[1]["www-authenticate"].startswith("Bearer")


def test_client_dropping_mid_upload_is_a_quiet_log_line(tmp_path):
    """In `tinyweb serve` itself: the log says the client went away, in one line, and nothing else."""
    body = make_snapshot().model_dump_json().encode()
    with ServeProcess(tmp_path / "data") as server:

        async def drop() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(post_head(server.token, len(body)) + body[: len(body) // 2])
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")  # 100 Continue: the server is reading the body now
            writer.transport.abort()

        asyncio.run(drop())
        wait_until(lambda: "went away" in server.log.read_text(), "the server to notice the dropped upload")
        assert server.healthy()
    log = server.log.read_text()
    assert "went away during POST /api/snapshots" in log
    assert "Traceback" not in log and "Error handling request" not in log and "internal" not in log


# --- 1. idle and slow connections -----------------------------------------------------------------------------------


def post_head(token: str, length: int, host: bytes = b"127.0.0.1") -> bytes:
    """The head of a snapshot POST that announces `length` bytes and waits for 100 Continue."""
    return (
        b"POST /api/snapshots HTTP/1.1\r\nHost: "
        + host
        + b"\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % length
    )


def wait_until(predicate, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def open_idle(port: int, n: int) -> list[socket.socket]:
    """`n` sockets that connect and send nothing (half of them a request line and no more)."""
    sockets = []
    for i in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        sockets.append(sock)
    return sockets


def open_slow_bodies(port: int, token: str, n: int) -> list[socket.socket]:
    """`n` snapshot POSTs the server is reading: each announced 1 000 bytes, got its 100 Continue, sent 10."""
    sockets = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(post_head(token, 1000))
        assert sock.recv(100).startswith(b"HTTP/1.1 100"), "the server reads the body of a request it handles"
        sock.sendall(b'{"url": "h')
        sockets.append(sock)
    return sockets


def answer(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    return asyncio.run(exchange(port, request))


def post_snapshot(server: ServeProcess, n: int) -> tuple[int, dict]:
    body = make_snapshot(n).model_dump_json().encode()
    head = request_bytes(
        "POST",
        "/api/snapshots",
        b"127.0.0.1",
        b"Authorization: Bearer " + server.token.encode(),
        b"Content-Type: application/json",
        body=body,
    )
    status, _, reply = answer(server.port, head)
    return status, json.loads(reply)


def test_idle_and_slow_sockets_under_a_low_open_file_limit_do_not_shut_the_server_out(tmp_path):
    """ulimit -n 256 and 300 idle sockets used to leave /api/health hanging, the log full of EMFILE."""
    with ServeProcess(tmp_path / "data", open_files=256) as server:
        slow = open_slow_bodies(server.port, server.token, 20)
        idle = open_idle(server.port, 300)
        try:
            health = answer(server.port, request_bytes("GET", "/api/health", b"127.0.0.1"))
            posted = post_snapshot(server, 1)
            more_idle = open_idle(server.port, 100)
            again = post_snapshot(server, 2)
        finally:
            for sock in slow + idle + more_idle:
                sock.close()
    assert health[0] == 200 and json.loads(health[2])["status"] == "ok"
    assert posted[0] == 201 and again[0] == 201, (posted, again)
    log = server.log.read_text()
    assert "Too many open files" not in log and "EMFILE" not in log, log


def test_connections_over_the_cap_get_a_fast_503_in_the_error_shape(tmp_path):
    cap = 8
    with ServeProcess(tmp_path / "data", args=("--max-connections", str(cap))) as server:
        slow = open_slow_bodies(server.port, server.token, cap)  # every slot in the middle of a request
        try:
            refused = answer(server.port, request_bytes("GET", "/api/health", b"127.0.0.1"))
            slow.pop().close()
            wait_until(server.healthy, "a slot to come free")
        finally:
            for sock in slow:
                sock.close()
    message = error_of(*refused, 503, "unavailable")
    assert "too many open connections" in message
    assert refused[1]["retry-after"] == "1" and refused[1]["connection"] == "close"


def test_idle_connections_are_closed_and_slow_bodies_get_408(tmp_path):
    """The keep-alive timer (from the first byte, so it is the header timeout too) and the body timeout."""

    async def scenario():
        app = init_app(ServerConfig(data_dir=tmp_path, port=free_port(), keepalive_timeout_s=0.5, body_timeout_s=0.5))
        runner, listener = await start_server(app)
        port = app[CONFIG_KEY].port
        writers = []
        try:
            idle_reader, idle = await asyncio.open_connection("127.0.0.1", port)
            partial_reader, partial = await asyncio.open_connection("127.0.0.1", port)
            slow_reader, slow = await asyncio.open_connection("127.0.0.1", port)
            writers += [idle, partial, slow]
            partial.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.write(post_head(app[TOKEN_KEY], 1000))
            assert (await slow_reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100")
            slow.write(b'{"url": "h')
            closed = [await asyncio.wait_for(r.read(), 30) for r in (idle_reader, partial_reader)]
            head = await asyncio.wait_for(slow_reader.readuntil(b"\r\n\r\n"), 30)
            lines = head.decode().split("\r\n")
            headers = dict((k.lower(), v.strip()) for k, _, v in (x.partition(":") for x in lines[1:] if x))
            body = await slow_reader.readexactly(int(headers["content-length"]))
            return closed, (int(lines[0].split()[1]), headers, body)
        finally:
            for writer in writers:
                writer.close()
            listener.close()
            await runner.cleanup()

    closed, timed_out = asyncio.run(scenario())
    assert closed == [b"", b""], "closed without an answer"
    assert "within 0.5 s" in error_of(*timed_out, 408, "request_timeout")


# --- 2. captured pages are private -----------------------------------------------------------------------------------


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_store_and_token_are_private_to_their_user(tmp_path):
    data = tmp_path / "new" / "data"
    with Store(data) as store:
        store.add(make_snapshot())
        files = {p.name: mode_of(p) for p in data.iterdir()}
    init_app(ServerConfig(data_dir=data))
    assert mode_of(data) == 0o700
    assert {"tinyweb.sqlite3", "tinyweb.sqlite3-wal", "tinyweb.sqlite3-shm", MARKER} <= set(files)
    assert set(files.values()) == {0o600}, files
    assert mode_of(data / TOKEN_FILE) == 0o600


def test_serve_makes_its_data_private(tmp_path):
    with ServeProcess(tmp_path / "data") as server:
        assert post_snapshot(server, 1)[0] == 201
        modes = {p.name: mode_of(p) for p in server.data_dir.iterdir()}
    assert mode_of(server.data_dir) == 0o700
    assert {"tinyweb.sqlite3", "tinyweb.sqlite3-wal", TOKEN_FILE, MARKER} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_a_loose_folder_is_tightened_only_when_it_is_tinywebs(tmp_path, caplog):
    ours = tmp_path / "ours"
    Store(ours).close()
    ours.chmod(0o755)
    (ours / "tinyweb.sqlite3").chmod(0o644)  # as tinyweb left them before
    home = tmp_path / "home"  # a folder tinyweb did not make, such as a home given as --data
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="tinyweb"):
        Store(ours).close()
        Store(home).close()
    assert mode_of(ours) == 0o700
    assert mode_of(ours / "tinyweb.sqlite3") == 0o600
    assert mode_of(home) == 0o755, "never chmod a folder tinyweb did not make"
    assert not (home / MARKER).exists()
    assert mode_of(home / "tinyweb.sqlite3") == 0o600
    messages = [r.getMessage() for r in caplog.records]
    assert any(str(ours) in m and "made private" in m for m in messages), messages
    assert any(str(home) in m and "chmod 700" in m for m in messages), messages


def test_a_symlinked_token_file_is_refused_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("a-token-someone-else-chose\n")
    elsewhere.chmod(0o644)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / TOKEN_FILE).symlink_to(elsewhere)
    with pytest.raises(StoreError, match="symbolic link"):
        init_app(ServerConfig(data_dir=data))
    (data / TOKEN_FILE).unlink()
    (data / TOKEN_FILE).symlink_to(tmp_path / "missing")  # a dangling one is not written through either
    with pytest.raises(StoreError, match="symbolic link"):
        init_app(ServerConfig(data_dir=data))
    assert not (tmp_path / "missing").exists()
    assert elsewhere.read_text() == "a-token-someone-else-chose\n" and mode_of(elsewhere) == 0o644


def test_exports_are_private(tmp_path):
    with Store(tmp_path / "data") as store:
        store.add(make_snapshot())
    runner = CliRunner()
    fresh, old = tmp_path / "fresh.jsonl", tmp_path / "old.jsonl"
    old.write_text("")
    old.chmod(0o644)
    umask = os.umask(0o022)  # the invoking shell's usual umask; the command sets its own
    try:
        for out in (fresh, old):
            result = runner.invoke(main, ["export", "--data", str(tmp_path / "data"), "-o", str(out)])
            assert result.exit_code == 0, result.output
            assert mode_of(out) == 0o600 and out.read_text().count("\n") == 1
        link = tmp_path / "link.jsonl"
        link.symlink_to(tmp_path / "target.jsonl")
        result = runner.invoke(main, ["export", "--data", str(tmp_path / "data"), "-o", str(link)])
    finally:
        os.umask(umask)
    assert result.exit_code == 1 and "symbolic link" in result.output
    assert not (tmp_path / "target.jsonl").exists()


# --- the token: in a URL only for the preview; the server proves it holds it ---------------------------------------


def test_query_token_is_taken_only_by_the_page_preview(tmp_path):
    snap = make_snapshot()

    async def scenario():
        async with serving(tmp_path) as (session, token):
            assert (await post(session, token, snap))[0] == 201
            answers = {}
            for path in ("api/stats", "api/snapshots", f"api/snapshots/{snap.id}", f"api/snapshots/{snap.id}/html"):
                async with session.get(f"{path}?token={token}") as r:
                    answers[path] = (r.status, await r.read())
            return answers

    answers = asyncio.run(scenario())
    assert answers.pop(f"api/snapshots/{snap.id}/html") == (200, snap.html.encode())
    for path, (status, body) in answers.items():
        assert status == 401, path
        assert json.loads(body)["error"]["code"] == "unauthorized"


def test_health_proves_the_server_holds_the_token_without_showing_it(tmp_path):
    challenge = "c" * 24

    async def scenario():
        async with raw_server(tmp_path) as (port, token):
            plain = await exchange(port, request_bytes("GET", "/api/health", b"127.0.0.1"))
            asked = await exchange(port, request_bytes("GET", f"/api/health?challenge={challenge}", b"127.0.0.1"))
            bad = await exchange(port, request_bytes("GET", "/api/health?challenge=short", b"127.0.0.1"))
            return port, token, plain, asked, bad

    port, token, plain, asked, bad = asyncio.run(scenario())
    assert json.loads(plain[2])["proof"] is None
    digest = hmac.new(token.encode(), f"tinyweb-server-proof\n{port}\n{challenge}".encode(), hashlib.sha256).digest()
    proof = json.loads(asked[2])["proof"]
    assert proof == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert token not in asked[2].decode()
    error_of(*bad, 400, "bad_request")


def test_long_lived_streams_are_counted_apart(tmp_path):
    """A route that keeps its answer open (the studio's event stream) holds no connection slot, is never closed
    as idle, and has a cap of its own, past which it is a 503 in the JSON shape."""
    done = asyncio.Event()

    async def events(request: web.Request) -> web.StreamResponse:
        async with request.app[GUARD_KEY].stream(request):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            await response.write(b": open\n\n")
            await done.wait()
            return response

    async def scenario():
        app = init_app(ServerConfig(data_dir=tmp_path, port=free_port(), max_connections=MIN_CONNECTIONS))
        app.router.add_get("/api/events", events)
        runner, listener = await start_server(app)
        port, bearer = app[CONFIG_KEY].port, b"Authorization: Bearer " + app[TOKEN_KEY].encode()
        streams, writers = [], []
        try:
            for _ in range(app[GUARD_KEY].max_streams):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writers.append(writer)
                writer.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n" + bearer + b"\r\n\r\n")
                streams.append(await asyncio.wait_for(reader.readuntil(b": open\n\n"), 30))
            over = await exchange(port, request_bytes("GET", "/api/events", b"127.0.0.1", bearer))
            health = [await exchange(port, request_bytes("GET", "/api/health", b"127.0.0.1")) for _ in range(20)]
            return streams, over, health
        finally:
            done.set()
            for writer in writers:
                writer.close()
            listener.close()
            await runner.cleanup()

    streams, over, health = asyncio.run(scenario())
    assert all(s.startswith(b"HTTP/1.1 200") for s in streams)
    assert "too many open streams" in error_of(*over, 503, "unavailable")
    assert [status for status, _, _ in health] == [200] * 20, "streams take no connection slot"

"""Crash test: SIGKILL `tinyweb serve` while a thousand posts are in flight, restart it, and check that every
acknowledged snapshot is stored exactly once in an intact database."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass, field

import aiohttp

from tests.server_process import ServeProcess
from tests.test_server import make_snapshot
from tinyweb.store import DB_NAME, Store

TOTAL = 1000  # distinct snapshots, all posted at once
KILL_AFTER = 300  # acknowledgements before the server is killed
CONNECTIONS = 100  # the client's connection pool: the rest of the posts queue in it
DEADLINE_S = 120  # for the whole run; it takes a few seconds
REQUEST_TIMEOUT_S = 30


@dataclass
class Tally:
    """What the client saw: acknowledged ids per post, and the posts that needed more than one try."""

    acked: dict[int, str] = field(default_factory=dict)
    duplicates: int = 0  # acknowledged with 200: committed by the killed server, its answer lost
    retried: set[int] = field(default_factory=set)
    on_the_wire: int = 0  # requests sent whose answer has not come
    kill_point: asyncio.Event = field(default_factory=asyncio.Event)
    acked_before_kill: int | None = None
    on_the_wire_at_kill: int | None = None
    acked_by_restarted: int = 0  # acknowledged after the restarted server answered its health check
    restarted: bool = False


async def post_until_acknowledged(session: aiohttp.ClientSession, token: str, n: int, tally: Tally) -> None:
    """POST snapshot n until a 201 or 200; connection errors and 5xx are retried with a short backoff."""
    body = make_snapshot(n).model_dump_json()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    attempt = 0
    while True:
        attempt += 1
        try:
            async with session.post("api/snapshots", data=body, headers=headers) as response:
                status, answer = response.status, await response.json() if response.status < 500 else None
        except (aiohttp.ClientError, TimeoutError):
            status, answer = None, None
        if status in (200, 201):
            tally.acked[n] = answer["id"]
            tally.duplicates += status == 200
            tally.acked_by_restarted += tally.restarted
            if len(tally.acked) >= KILL_AFTER:
                tally.kill_point.set()
            return
        assert status is None or status >= 500, f"post {n} refused with {status}: {answer}"
        tally.retried.add(n)
        await asyncio.sleep(min(0.02 * attempt, 0.5))


async def crash_and_restart(server: ServeProcess, tally: Tally) -> None:
    await tally.kill_point.wait()
    tally.acked_before_kill = len(tally.acked)
    tally.on_the_wire_at_kill = tally.on_the_wire
    server.kill()
    await asyncio.to_thread(server.start)
    tally.restarted = True


def wire_counter(tally: Tally) -> aiohttp.TraceConfig:
    """Counts the requests whose headers went out and whose answer has not come back (or failed)."""

    async def sent(session, context, params) -> None:
        context.sent = True
        tally.on_the_wire += 1

    async def done(session, context, params) -> None:
        if getattr(context, "sent", False):
            context.sent = False
            tally.on_the_wire -= 1

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(sent)
    trace.on_request_end.append(done)
    trace.on_request_exception.append(done)
    return trace


async def post_all_through_a_crash(server: ServeProcess) -> Tally:
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    traces = [wire_counter(tally)]
    async with aiohttp.ClientSession(server.url, connector=connector, timeout=timeout, trace_configs=traces) as session:
        posts = [post_until_acknowledged(session, server.token, n, tally) for n in range(TOTAL)]
        async with asyncio.timeout(DEADLINE_S):
            await asyncio.gather(crash_and_restart(server, tally), *posts)
    return tally


def test_sigkill_mid_stream_loses_no_acknowledged_snapshot(tmp_path, record_property):
    data_dir = tmp_path / "data"
    server = ServeProcess(data_dir)
    server.start()
    try:
        tally = asyncio.run(post_all_through_a_crash(server))
    finally:
        server.stop()

    figures = {
        "acked_before_kill": tally.acked_before_kill,
        "on_the_wire_at_kill": tally.on_the_wire_at_kill,
        "acked_by_restarted_server": tally.acked_by_restarted,
        "posts_retried": len(tally.retried),
        "acked_as_duplicate": tally.duplicates,
    }
    for name, value in figures.items():
        record_property(name, value)
    print(figures)
    assert server.starts == 2
    # the kill came mid-stream: some posts acknowledged before it, some only by the restarted server
    assert KILL_AFTER <= tally.acked_before_kill < TOTAL
    assert tally.on_the_wire_at_kill > 0
    assert tally.acked_by_restarted > 0 and tally.retried
    expected = {n: make_snapshot(n).id for n in range(TOTAL)}
    assert tally.acked == expected
    with Store(data_dir) as store:
        assert store.count() == TOTAL
        assert sorted(store.ids()) == sorted(expected.values())
    with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("SELECT COUNT(DISTINCT id), COUNT(*) FROM snapshots").fetchone() == (TOTAL, TOTAL)

"""Benchmark ingest: `tinyweb serve` against a bare aiohttp handler that reads the same bodies and drops them.

Run from the repository root: `python -m bench.ingest [--requests 500] [--rounds 6] [--concurrency 16] [--kb 100]
[--out bench/results]`. Both servers run as their own processes on 127.0.0.1 (`web.run_app`, one event loop
each); one aiohttp client posts distinct ~100 KB snapshots to each in turn, the order alternating by round.
Prints snapshots/s, MB/s and p50/p99 latency per server and the tinyweb/bare ratio; writes OUT/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import aiohttp
from aiohttp import web

from tinyweb.snapshot import CaptureStats, Snapshot
from tinyweb.store import Store
from tinyweb_server import MAX_BODY_BYTES
from tinyweb_server.config import TOKEN_FILE

GOAL_RATIO = 0.5  # tinyweb should ingest at least half as many snapshots per second as a handler doing nothing
WARM_UP = 32  # requests to each server before the rounds, not counted
START_TIMEOUT_S = 30
SERVERS = ("tinyweb", "bare")
COST_SAMPLE = 400  # snapshots timed piece by piece after the rounds


# --- the bare server -------------------------------------------------------------------------------------------


async def bare_ingest(request: web.Request) -> web.Response:
    """Read the whole body and drop it: the cost of HTTP and aiohttp alone."""
    body = await request.read()
    return web.json_response({"bytes": len(body), "created": True}, status=201)


async def bare_health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def serve_bare(port: int) -> None:
    app = web.Application(client_max_size=MAX_BODY_BYTES)  # tinyweb's limit, so both read bodies alike
    app.router.add_post("/api/snapshots", bare_ingest)
    app.router.add_get("/api/health", bare_health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the servers as processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One server in its own process on 127.0.0.1, up once its /api/health answers."""

    def __init__(self, name: str, command: list[str], port: int, log: Path):
        self.name = name
        self.url = f"http://127.0.0.1:{port}/"
        with log.open("wb") as out:  # a file, not a pipe: a server that logs much would block on a full pipe
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{name} server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "api/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far (all its threads); None where /proc is missing."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_servers(folder: Path) -> dict[str, ServerProcess]:
    """Both servers; tinyweb's data directory is folder/data."""
    tinyweb_port, bare_port = free_port(), free_port()
    tinyweb = [sys.executable, "-m", "tinyweb", "serve", "--host", "127.0.0.1", "--port", str(tinyweb_port)]
    tinyweb += ["--data", str(folder / "data")]
    bare = [sys.executable, "-m", "bench.ingest", "--serve-bare", str(bare_port)]
    servers = {"tinyweb": ServerProcess("tinyweb", tinyweb, tinyweb_port, folder / "tinyweb.log")}
    try:
        servers["bare"] = ServerProcess("bare", bare, bare_port, folder / "bare.log")
    except BaseException:
        servers["tinyweb"].stop()
        raise
    return servers


# --- the bodies ------------------------------------------------------------------------------------------------

WORDS = [
    "layout",
    "grid",
    "card",
    "header",
    "footer",
    "navigation",
    "article",
    "section",
    "figure",
    "caption",
    "button",
    "form",
    "label",
    "input",
]


def page_html(n: int, size: int) -> str:
    """A page of about `size` bytes: styled sections with text that differs from page to page."""
    parts = [f"<!doctype html><html><head><title>Page {n}</title></head><body><h1>Benchmark page {n}</h1>"]
    length, i = len(parts[0]), 0
    while length < size:
        words = " ".join(WORDS[(n + i + k) % len(WORDS)] for k in range(24))
        part = (
            f'<section style="margin:0 0 {i % 9}px;padding:{i % 5}px;color:#{(n * 31 + i) % 4096:03x}">'
            f'<h2 style="font-size:{12 + i % 8}px">Section {n}.{i}</h2><p>{words}</p></section>'
        )
        parts.append(part)
        length += len(part)
        i += 1
    return "".join(parts) + "</body></html>"


def make_bodies(start: int, count: int, kb: int) -> list[bytes]:
    """Snapshot JSON bodies of about `kb` KB each for pages start, start + 1, ...: distinct pages, distinct ids."""
    stats = CaptureStats(element_count=100, raw_html_bytes=kb * 1000, capture_ms=50.0)
    html_size = int(kb * 1000 * 0.98)  # the quotes JSON escapes, and the other fields, make up the rest
    return [
        Snapshot(url=f"https://bench.example/page/{n}", html=page_html(n, html_size), title=f"Page {n}", stats=stats)
        .model_dump_json()
        .encode()
        for n in range(start, start + count)
    ]


# --- the client ------------------------------------------------------------------------------------------------


@dataclass
class RoundFigures:
    server: str
    requests: int
    bytes: int
    seconds: float
    server_cpu_s: float | None
    latencies_ms: list[float] = field(repr=False)

    @property
    def snapshots_per_s(self) -> float:
        return self.requests / self.seconds


async def post_all(url: str, token: str, bodies: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """POST every body with `concurrency` requests in flight; (wall seconds, per-request latencies in ms)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    queue = iter(bodies)
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector) as session:

        async def worker() -> None:
            for body in queue:
                started = time.perf_counter()
                async with session.post("api/snapshots", data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 201:
                        raise SystemExit(f"{url} answered {response.status}: every body should be a new snapshot")
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def run_round(server: ServerProcess, token: str, bodies: list[bytes], concurrency: int) -> RoundFigures:
    cpu_before = server.cpu_seconds()
    seconds, latencies = asyncio.run(post_all(server.url, token, bodies, concurrency))
    cpu_after = server.cpu_seconds()
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return RoundFigures(server.name, len(bodies), sum(map(len, bodies)), seconds, cpu, latencies)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summarise(rounds: list[RoundFigures]) -> dict:
    requests = sum(r.requests for r in rounds)
    seconds = sum(r.seconds for r in rounds)
    latencies = [ms for r in rounds for ms in r.latencies_ms]
    cpu = None if any(r.server_cpu_s is None for r in rounds) else sum(r.server_cpu_s for r in rounds)
    return {
        "requests": requests,
        "seconds": round(seconds, 3),
        "snapshots_per_s": round(requests / seconds, 1),
        "mb_per_s": round(sum(r.bytes for r in rounds) / seconds / 1e6, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "server_cpu_ms_per_request": None if cpu is None else round(cpu / requests * 1000, 3),
        "rounds_snapshots_per_s": [round(r.snapshots_per_s, 1) for r in rounds],
    }


def benchmark(requests: int, rounds: int, concurrency: int, kb: int) -> dict:
    """Warm both servers up, run the rounds (each round's bodies made before it and posted to both), and check
    that tinyweb stored every one."""
    posted = 0
    with tempfile.TemporaryDirectory(prefix="tinyweb-bench-ingest-") as tmp:
        data_dir = Path(tmp) / "data"
        servers = start_servers(Path(tmp))
        try:
            token = (data_dir / TOKEN_FILE).read_text(encoding="utf-8").strip()
            warm_up = make_bodies(0, WARM_UP, kb)
            for server in servers.values():
                run_round(server, token, warm_up, concurrency)
            posted += len(warm_up)
            results: dict[str, list[RoundFigures]] = {name: [] for name in SERVERS}
            for r in range(rounds):
                batch = make_bodies(posted, requests, kb)  # made between rounds: one round's bodies in memory
                posted += len(batch)
                for name in SERVERS if r % 2 == 0 else SERVERS[::-1]:
                    figures = run_round(servers[name], token, batch, concurrency)
                    results[name].append(figures)
                    print(f"round {r + 1} {name:<8}{figures.snapshots_per_s:>8.1f} snapshots/s")
        finally:
            for server in servers.values():
                server.stop()
        with Store(data_dir) as store:
            stored = store.count()
    if stored != posted:
        raise SystemExit(f"tinyweb stored {stored} snapshots, not {posted}")
    summary = {name: summarise(results[name]) for name in SERVERS}
    ratio = summary["tinyweb"]["snapshots_per_s"] / summary["bare"]["snapshots_per_s"]
    round_ratios = [
        t.snapshots_per_s / b.snapshots_per_s for t, b in zip(results["tinyweb"], results["bare"], strict=True)
    ]
    rounds_done = results["tinyweb"]
    return {
        "settings": {
            "requests_per_round": requests,
            "rounds": rounds,
            "warm_up": WARM_UP,
            "concurrency": concurrency,
            "body_bytes_mean": round(sum(r.bytes for r in rounds_done) / sum(r.requests for r in rounds_done)),
        },
        "tinyweb_stored": stored,
        **summary,
        "ratio": round(ratio, 3),
        "ratio_per_round": [round(x, 3) for x in round_ratios],
        "ratio_median_of_rounds": round(statistics.median(round_ratios), 3),
        "goal_ratio": GOAL_RATIO,
        "goal_met": ratio >= GOAL_RATIO,
        "per_snapshot_costs": per_snapshot_costs(make_bodies(posted, COST_SAMPLE, kb)),
    }


def per_snapshot_costs(bodies: list[bytes]) -> dict:
    """Where tinyweb's time goes, in this process, ms per snapshot: parsing and validating the JSON (with the
    id's SHA-256), and `Store.add_many` in batches of 16 as the server calls it (the bodies stored as received,
    inserted and committed; WAL checkpoints on the store's own thread); serializing a record is timed alone."""
    started = time.perf_counter()
    snapshots = [Snapshot.model_validate_json(body) for body in bodies]
    validate = time.perf_counter() - started
    started = time.perf_counter()
    for snapshot in snapshots:
        snapshot.model_dump_json()
    serialize = time.perf_counter() - started
    with (
        tempfile.TemporaryDirectory(prefix="tinyweb-bench-store-") as tmp,
        Store(tmp, background_checkpoints=True) as store,
    ):
        started = time.perf_counter()
        for i in range(0, len(snapshots), 16):
            store.add_many(snapshots[i : i + 16], bodies[i : i + 16])
        add = time.perf_counter() - started
    count = len(bodies)
    return {
        "snapshots": count,
        "validate_ms": round(validate / count * 1000, 3),
        "serialize_ms": round(serialize / count * 1000, 3),
        "store_add_ms": round(add / count * 1000, 3),
    }


def environment() -> dict:
    return {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "aiohttp": version("aiohttp"),
        "pydantic": version("pydantic"),
    }


def format_summary(result: dict) -> str:
    lines = [f"{'server':<10}{'snapshots/s':>12}{'MB/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}"]
    for name in SERVERS:
        s = result[name]
        row = f"{name:<10}{s['snapshots_per_s']:>12}{s['mb_per_s']:>8}{s['p50_ms']:>9}{s['p99_ms']:>9}"
        lines.append(row + f"{s['server_cpu_ms_per_request'] or '-':>12}")
    goal = "met" if result["goal_met"] else "not met"
    lines.append(
        f"tinyweb/bare: {result['ratio']:.0%}, median of rounds {result['ratio_median_of_rounds']:.0%} "
        f"(per round: {result['ratio_per_round']}; goal ≥ 50 %: {goal})"
    )
    costs = result["per_snapshot_costs"]
    lines.append(
        f"one thread, ms per snapshot: validate {costs['validate_ms']}, store {costs['store_add_ms']} "
        f"(of which serializing the record {costs['serialize_ms']})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per server per round (default 500)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds; the order of the servers alternates")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--kb", type=int, default=100, help="approximate body size in KB (default 100)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="folder for ingest.json")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the bare server process
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if min(args.requests, args.rounds, args.concurrency, args.kb) < 1:
        parser.error("--requests, --rounds, --concurrency and --kb must be at least 1")
    result = benchmark(args.requests, args.rounds, args.concurrency, args.kb)
    document = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "environment": environment()}
    document.update(result)
    print()
    print(format_summary(result))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ingest.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()

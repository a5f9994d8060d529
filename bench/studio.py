"""Benchmark the studio's cost to ingest: p50/p99 latency of snapshot posts while the studio generates a page,
beside the same posts with the studio idle.

Run from the repository root: `python -m bench.studio [--run runs/NAME] [--requests 300] [--rounds 4]
[--concurrency 4] [--kb 100] [--out bench/results]`. Without --run it uses the run shipped with tinyweb. One
`tinyweb serve` process on 127.0.0.1 finds the run under its --runs folder; one aiohttp client posts distinct
~100 KB snapshots (bench.ingest's bodies) in rounds that alternate: idle, then with a page being written (a
composed page for a coffee shop, one job after another for as long as the round lasts, the first one past
loading its model before the round starts). The worker is one process on one torch thread, so on two cores the
server keeps one; this measures what that leaves it. Prints p50/p99 per state and their ratio; writes
OUT/studio.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench.ingest import WARM_UP, ServerProcess, environment, free_port, make_bodies, percentile, post_all
from tinyweb.learn.runs import DEFAULT_RUN
from tinyweb_server.config import TOKEN_FILE

REQUEST = "a landing page for a coffee shop"
RUN_ID = "bench-run"  # the name the run is linked under in the server's --runs folder
STATES = ("idle", "generating")
FIRST_JOB_TIMEOUT_S = 600  # loading the model and writing the plan, before the first generating round


async def keep_generating(url: str, token: str, run: str, writing: asyncio.Event, jobs: list[dict]) -> None:
    """Page jobs one after another until cancelled, each put in `jobs` as it is queued (with "done" once it
    finished); `writing` is set once the first has its plan (its model is loaded)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(url) as session:
        while True:
            body = {"request": REQUEST, "run": run}
            async with session.post("api/studio/pages", json=body, headers=headers) as response:
                job = await response.json()
                if response.status != 202:
                    raise SystemExit(f"the studio refused the job: {response.status} {job}")
            jobs.append(job)
            async with session.get(job["events"].lstrip("/")) as stream:
                async for line in stream.content:
                    if not line.startswith(b"data: "):
                        continue
                    event = json.loads(line[6:])
                    if event["event"] in ("sections", "section"):
                        writing.set()
                    if event["event"] == "error":
                        raise SystemExit(f"the studio's job failed: {event['message']}")
            job["done"] = True


async def rounds(url: str, token: str, run: str, requests: int, count: int, concurrency: int, kb: int) -> dict:
    """Warm up, then `count` rounds of each state, alternating; latencies per state."""
    await post_all(url, token, make_bodies(0, WARM_UP, kb), concurrency)
    posted, latencies, jobs = WARM_UP, {state: [] for state in STATES}, []
    for r in range(2 * count):
        state = STATES[r % 2]
        bodies = make_bodies(posted, requests, kb)
        posted += len(bodies)
        writing, generator = asyncio.Event(), None
        if state == "generating":
            generator = asyncio.create_task(keep_generating(url, token, run, writing, jobs))
            waiting = asyncio.create_task(writing.wait())
            await asyncio.wait([waiting, generator], timeout=FIRST_JOB_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
            if generator.done():
                generator.result()  # its SystemExit says why
            if not writing.is_set():
                raise SystemExit(f"no section was being written after {FIRST_JOB_TIMEOUT_S} s")
        seconds, round_ms = await post_all(url, token, bodies, concurrency)
        if generator is not None:
            generator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await generator
            await cancel_running(url, token, jobs[-1])
        latencies[state] += round_ms
        print(f"round {r + 1} {state:<11} p99 {percentile(round_ms, 99):8.1f} ms  ({requests / seconds:.0f} posts/s)")
    return {"latencies": latencies, "pages_written": sum("done" in job for job in jobs), "posted": posted}


async def cancel_running(url: str, token: str, job: dict) -> None:
    """Cancel the job the generator left, and wait until the studio is idle, so the next idle round is idle."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(url) as session:
        async with session.delete(f"api/studio/jobs/{job['id']}", headers=headers) as response:
            await response.read()
        while True:
            async with session.get("api/runs", headers=headers) as response:
                queue = (await response.json())["queue"]
            if not queue["running"] and not queue["waiting"]:
                return
            await asyncio.sleep(0.2)  # a cancelled job stops within a token, then takes its screenshot


def summary(latencies: list[float]) -> dict:
    return {
        "posts": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
    }


def benchmark(run_folder: Path, requests: int, count: int, concurrency: int, kb: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="tinyweb-bench-studio-") as tmp:
        folder = Path(tmp)
        runs = folder / "runs"
        runs.mkdir()
        (runs / RUN_ID).symlink_to(run_folder.resolve(), target_is_directory=True)
        port = free_port()
        command = [sys.executable, "-m", "tinyweb", "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--data", str(folder / "data"), "--runs", str(runs)]
        server = ServerProcess("tinyweb", command, port, folder / "tinyweb.log")
        try:
            token = (folder / "data" / TOKEN_FILE).read_text(encoding="utf-8").strip()
            result = asyncio.run(rounds(server.url, token, RUN_ID, requests, count, concurrency, kb))
        finally:
            server.stop()
    figures = {state: summary(result["latencies"][state]) for state in STATES}
    return {
        "settings": {
            "run": str(run_folder),
            "requests_per_round": requests,
            "rounds_per_state": count,
            "concurrency": concurrency,
            "kb": kb,
            "request": REQUEST,
        },
        **figures,
        "p99_ratio": round(figures["generating"]["p99_ms"] / figures["idle"]["p99_ms"], 2),
        "pages_written": result["pages_written"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.studio", description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=DEFAULT_RUN, help="the run to generate with (default: shipped)")
    parser.add_argument("--requests", type=int, default=300, help="posts per round (default 300)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of each state (default 4)")
    parser.add_argument("--concurrency", type=int, default=4, help="posts in flight (default 4)")
    parser.add_argument("--kb", type=int, default=100, help="approximate body size in KB (default 100)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="folder for studio.json")
    args = parser.parse_args(argv)
    if not (args.run / "run.json").is_file():
        parser.error(f"{args.run} is not a training run (no run.json): pass --run runs/NAME")
    if min(args.requests, args.rounds, args.concurrency, args.kb) < 1:
        parser.error("--requests, --rounds, --concurrency and --kb must be at least 1")
    result = benchmark(args.run, args.requests, args.rounds, args.concurrency, args.kb)
    print(f"\n{'state':<12}{'posts':>7}{'p50 ms':>9}{'p99 ms':>9}")
    for state in STATES:
        print(f"{state:<12}{result[state]['posts']:>7}{result[state]['p50_ms']:>9}{result[state]['p99_ms']:>9}")
    print(f"p99 while generating / idle: {result['p99_ratio']}x ({result['pages_written']} pages written)")
    measured = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "environment": environment()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "studio.json").write_text(json.dumps(measured | result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out / 'studio.json'}")


if __name__ == "__main__":
    main()

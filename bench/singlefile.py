"""SingleFile's CLI (npm `single-file-cli`, pinned in bench/package-lock.json), run with tinyweb's Chromium."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tinyweb.capture.browser import CHROMIUM_ARGS, chromium_path

BENCH_DIR = Path(__file__).resolve().parent
CLI = BENCH_DIR / "node_modules" / ".bin" / "single-file"
# Every host but loopback fails to resolve: the counterpart of BrowserOptions(block_external=True).
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
TIMEOUT_S = 120
# Each page gets a second try: single-file-cli 2.0.83 now and then fails with "Execution context not found
# for SingleFile world" (a race between its frame and world events, issue #198 of single-file-cli).
ATTEMPTS = 2


@dataclass
class SingleFileRun:
    """One SingleFile process: its wall time, and the file it wrote or why it failed."""

    seconds: float
    output: Path | None
    error: str | None = None
    earlier_errors: list[str] = field(default_factory=list)  # of the failed attempts before this one


def ensure_installed() -> None:
    """Run `npm ci` in bench/ when bench/node_modules lacks the CLI."""
    if CLI.exists():
        return
    print("installing single-file-cli: npm ci in bench/", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH_DIR, check=True)


def command(url: str, output: Path) -> list[str]:
    """The CLI call in its fast setting, at the capture viewport, with tinyweb's Chromium and arguments."""
    return [
        str(CLI),
        url,
        str(output),
        f"--browser-executable-path={chromium_path()}",
        "--load-deferred-images=false",
        "--browser-wait-until-delay=0",
        "--browser-headless=true",
        # The window size leaves the viewport short of 800 px in headless mode; emulating the metrics does not.
        "--browser-device-width=1280",
        "--browser-device-height=800",
        "--browser-device-scale-factor=1",
        f"--browser-args={json.dumps([*CHROMIUM_ARGS, LOOPBACK_ONLY])}",
        "--filename-conflict-action=overwrite",
    ]


async def capture(url: str, output: Path, attempts: int = ATTEMPTS, timeout_s: float = TIMEOUT_S) -> SingleFileRun:
    """Run the CLI on `url` until it writes a file, at most `attempts` times; the last run, with earlier errors."""
    errors: list[str] = []
    for _ in range(attempts):
        run = await capture_once(url, output, timeout_s)
        run.earlier_errors = list(errors)
        if run.output is not None:
            break
        errors.append(run.error or "failed")
    return run


async def capture_once(url: str, output: Path, timeout_s: float = TIMEOUT_S) -> SingleFileRun:
    """Run the CLI once on `url`, timing the whole process; a failure is recorded, not raised."""
    output.unlink(missing_ok=True)
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command(url, output),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group, so that a timeout also ends the Chromium it started
    )
    try:
        log, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        return SingleFileRun(time.perf_counter() - start, None, f"timed out after {timeout_s:.0f} s")
    seconds = time.perf_counter() - start
    if process.returncode != 0 or not output.is_file() or output.stat().st_size == 0:
        last = log.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        message = last[0].split(" [")[0]  # without the timestamp and URL that follow
        return SingleFileRun(seconds, None, f"exit {process.returncode}: {message[:200]}")
    return SingleFileRun(seconds, output)

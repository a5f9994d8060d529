"""The README's picture of the studio: `python scripts/studio_screenshot.py [--run runs/NAME] [-o docs/studio.png]`.

Starts `tinyweb serve` on a free loopback port with a fresh data folder, opens /studio in headless Chromium, asks
for REQUEST with the run (the shipped one by default, else --run, linked under the server's --runs folder), keeps
the model's plan, writes the sections, and saves a screenshot of the studio with the finished page in it.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tinyweb.capture.browser import CHROMIUM_ARGS, chromium_path
from tinyweb.layout import RUN_FILE
from tinyweb.learn.runs import DEFAULT_RUN
from tinyweb_server.config import TOKEN_FILE

REQUEST = "a landing page for a coffee shop"
VIEWPORT = {"width": 1440, "height": 1000}
WAIT_MS = 20 * 60 * 1000  # a composed page on a CPU: minutes


def start(folder: Path, runs: Path | None) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "tinyweb", "serve", "--port", str(port), "--data", str(folder / "data")]
    server = subprocess.Popen([*command, *(["--runs", str(runs)] if runs else [])])
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "api/health", timeout=1).close()
            return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("tinyweb serve did not start")


async def shoot(url: str, token: str, run_id: str, out: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport=VIEWPORT)
        await page.goto(url + "studio")
        await page.fill("#token", token)
        await page.click("#load")
        await page.select_option("#run", run_id)
        await page.fill("#request", REQUEST)
        await page.click("#generate")
        await expect(page.locator("#status")).to_have_text("plan written", timeout=WAIT_MS)
        await page.click("#write")
        await expect(page.locator("#status")).to_have_text("done", timeout=WAIT_MS)
        await expect(page.locator("#gallery li img")).to_have_count(1, timeout=WAIT_MS)
        await page.wait_for_timeout(1000)  # the frame's page and the thumbnail painted
        out.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(out), full_page=True)
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a run folder (default: the run shipped with tinyweb)")
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/studio.png"))
    args = parser.parse_args()
    folder_run = args.run or DEFAULT_RUN
    if not (folder_run / RUN_FILE).is_file():
        raise SystemExit(f"{folder_run} is not a training run: pass --run runs/NAME until tinyweb ships one")
    with tempfile.TemporaryDirectory(prefix="tinyweb-studio-shot-") as tmp:
        runs = None
        if args.run:
            runs = Path(tmp) / "runs"
            runs.mkdir()
            (runs / args.run.name).symlink_to(args.run.resolve(), target_is_directory=True)
        server, url = start(Path(tmp), runs)
        try:
            token = (Path(tmp) / "data" / TOKEN_FILE).read_text(encoding="utf-8").strip()
            asyncio.run(shoot(url, token, args.run.name if args.run else "default", args.output))
        finally:
            server.terminate()
            server.wait(30)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

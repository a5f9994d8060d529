"""The design studio: composition in two steps, the API over real HTTP on 127.0.0.1 with a real worker process
writing with a tiny random model, the gallery, and the studio page driven in real Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from tests.test_generate import make_run
from tinyweb.cli import main
from tinyweb.dataset.format import MAX_REQUEST_CHARS
from tinyweb.learn.compose import FALLBACK_PLAN, Plan, write_plans, write_sections
from tinyweb.learn.decode import GenerateOptions
from tinyweb.learn.render import standalone_page
from tinyweb.snapshot import CaptureStats, Snapshot
from tinyweb.store import Store, StudioPage
from tinyweb_server import ServerConfig, init_app
from tinyweb_server.handlers import SNAPSHOT_CSP
from tinyweb_server.keys import TOKEN_KEY

REQUEST = "a landing page for a yoga studio"
BUDGETS = {"plan": 12, "section": 10, "page": 40}
RUN = "tiny"
MODEL_WAIT_MS = 90_000  # the first job starts the worker (torch, the model): seconds on a busy machine


def tiny_run(folder: Path) -> Path:
    """The tiny random model as a run that learnt plans and sections, with small budgets."""
    from tests.conftest import tiny_llama
    from tinyweb.models import tokenizer

    base = folder / "base"
    base.mkdir(parents=True)
    tiny_llama(tokenizer(), base, tie_word_embeddings=True)
    run = folder / "runs" / RUN
    run.mkdir(parents=True)
    make_run(run, base)
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps(meta | {"config": {"kinds": "page,plan,section"}, "budgets": BUDGETS}))
    return run


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("studio")).parent


# --- the library ------------------------------------------------------------------------------------------------


def test_sections_are_told_as_written_and_a_cancel_stops_them(runs_dir: Path):
    from tinyweb.learn.runs import load_run

    run = load_run(runs_dir / RUN, merge=True)
    options = GenerateOptions(batch_size=1)
    [plan] = write_plans(run.model, run.tokenizer, [REQUEST], options, BUDGETS)
    assert plan.fallback and plan.labels == FALLBACK_PLAN and 1 <= plan.new_tokens <= 12 and plan.seconds > 0
    told: list[int] = []
    again = write_sections(
        run.model, run.tokenizer, REQUEST, plan, options, BUDGETS, [3, 1], lambda i, s: told.append(i)
    )
    assert sorted(again) == [1, 3] and sorted(told) == [1, 3] and again[3].label == FALLBACK_PLAN[3]
    # Cancelled: the section being written stops a token later, and no section after it is kept.
    edited = Plan("<html>", "<body>", ["a header", "a hero", "a footer"])
    cut = write_sections(run.model, run.tokenizer, REQUEST, edited, options, {"section": 40}, cancelled=lambda: True)
    assert list(cut) == [0] and cut[0].new_tokens == 1 and not cut[0].ended and cut[0].ending == "cancelled"


def test_a_standalone_page_carries_the_rules_it_uses():
    css = ".a{color:red}\n.b{margin:0}\n@media (max-width:575.98px){.a-phone{color:blue!important}.b-phone{margin:1px}}"
    page = '<html><head><link rel="stylesheet" href="../semantic-css-framework.css"></head>'
    page += '<body><p class="a a-phone">x<img src="placeholder.svg"></p></body></html>'
    one = standalone_page(page, css)
    assert "semantic-css-framework.css" not in one and "placeholder.svg" not in one
    assert ".a{color:red}" in one and ".a-phone{color:blue!important}" in one
    assert ".b{" not in one and ".b-phone" not in one and 'src="data:image/svg+xml;base64,' in one


def test_generated_pages_are_never_snapshots(tmp_path: Path):
    """The gallery is a table of its own: export and build read snapshots, so no generated page can flow back
    into a training set."""
    data = tmp_path / "data"
    marker = "written-by-the-model-not-captured"
    with Store(data) as store:
        store.put_studio_page(
            StudioPage("0" * 32, REQUEST, RUN, {"mode": "composed"}, None, [], f"<p>{marker}</p>", None, 1.0, "done")
        )
        assert store.count() == 0 and list(store.iter_snapshots()) == []
    build = CliRunner().invoke(main, ["build", "--data", str(data), "--out", str(tmp_path / "out")])
    assert build.exit_code != 0 and "no snapshots in" in build.output
    with Store(data) as store:
        store.add(
            Snapshot(
                url="https://example.com/",
                html="<p>captured</p>",
                stats=CaptureStats(element_count=1, raw_html_bytes=0, capture_ms=1),
            )
        )
    out = tmp_path / "all.jsonl"
    assert CliRunner().invoke(main, ["export", "--data", str(data), "-o", str(out)]).exit_code == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and "captured" in lines[0] and marker not in out.read_text()


# --- the API ----------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def studio_server(data_dir: Path, **config):
    app = init_app(ServerConfig(data_dir=data_dir, **config))
    async with TestServer(app, host="127.0.0.1") as server, ClientSession(str(server.make_url("/"))) as session:
        yield session, {"Authorization": f"Bearer {app[TOKEN_KEY]}"}


async def call(session, method: str, path: str, headers: dict, body=None) -> tuple[int, dict]:
    async with session.request(method, path.lstrip("/"), json=body, headers=headers) as response:
        return response.status, await response.json()


async def events(session, job: dict) -> list[dict]:
    """Every event of a job's stream, read until the server ends it."""
    told = []
    async with session.get(job["events"].lstrip("/")) as response:
        assert response.status == 200 and response.content_type == "text/event-stream"
        async for line in response.content:
            if line.startswith(b"data: "):
                told.append(json.loads(line[6:]))
    return told


def test_the_api_plans_writes_keeps_and_rewrites_a_page(runs_dir: Path, tmp_path: Path):
    asyncio.run(drive_api(runs_dir, tmp_path / "data"))


async def drive_api(runs_dir: Path, data_dir: Path) -> None:
    async with studio_server(data_dir, runs_dir=runs_dir) as (session, auth):
        status, runs = await call(session, "GET", "api/runs", auth)
        assert status == 200 and runs["available"] and [r["id"] for r in runs["runs"]] == [RUN]
        assert runs["runs"][0]["composed"] and runs["queue"] == {"running": 0, "waiting": 0, "cap": 4}
        for body, expected in (
            ({"request": "   ", "run": RUN}, 422),
            ({"request": "x" * (MAX_REQUEST_CHARS + 1), "run": RUN}, 422),
            ({"request": REQUEST, "run": "nope"}, 404),
            ({"request": REQUEST, "run": "../../etc"}, 422),
            ({"request": REQUEST, "run": RUN, "path": "/tmp"}, 422),
        ):
            status, error = await call(session, "POST", "api/studio/pages", auth, body)
            assert status == expected and set(error) == {"error"} and error["error"]["status"] == expected, error
        assert (await call(session, "POST", "api/studio/plans", {}, {"request": REQUEST, "run": RUN}))[0] == 401

        status, job = await call(session, "POST", "api/studio/plans", auth, {"request": REQUEST, "run": RUN})
        assert status == 202 and job["kind"] == "plan" and job["position"] in (0, 1)
        told = await events(session, job)
        assert [e["event"] for e in told][-1] == "done" and "plan" in [e["event"] for e in told]
        _, job = await call(session, "GET", f"api/studio/jobs/{job['id']}", auth)
        assert job["state"] == "done" and job["plan"]["fallback"] and job["plan"]["labels"] == FALLBACK_PLAN

        # The plan, edited: two sections of the person's own, then the page, told section by section.
        plan = {
            "html_tag": job["plan"]["html_tag"],
            "body_tag": job["plan"]["body_tag"],
            "labels": ["a calm hero", "a price list"],
        }
        body = {"request": REQUEST, "run": RUN, "plan": plan, "plan_job": job["id"], "settings": {"seed": 3}}
        status, page_job = await call(session, "POST", "api/studio/pages", auth, body)
        assert status == 202
        told = await events(session, page_job)
        sections = [e for e in told if e["event"] == "section"]
        assert [s["index"] for s in sections] == [0, 1] and [s["section"]["label"] for s in sections] == plan["labels"]
        assert sections[0]["eta_s"] is not None and sections[-1]["eta_s"] == 0 and "html" not in sections[0]
        done = told[-1]
        assert done["event"] == "done" and not done["cancelled"] and done["gallery_id"]
        async with session.get(page_job["page"].lstrip("/")) as response:
            assert response.headers["Content-Security-Policy"] == SNAPSHOT_CSP and "<style>" in await response.text()

        gallery_id = done["gallery_id"]
        status, entry = await call(session, "GET", f"api/gallery/{gallery_id}", auth)
        assert status == 200 and entry["plan"]["labels"] == plan["labels"] and len(entry["sections"]) == 2
        assert (
            entry["status"] == "done" and entry["seconds"] > job["plan"]["seconds"] > 0 and entry["mode"] == "composed"
        )
        async with session.get(f"api/gallery/{gallery_id}/screenshot?key={entry['key']}") as response:
            assert entry["screenshot"] and response.content_type == "image/png"
            assert (await response.read())[:4] == b"\x89PNG"
        keyed = f"api/gallery/{gallery_id}/download?key={entry['key']}"
        async with session.get(keyed) as response:
            assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
            html = await response.text()
        assert "<style>" in html and "semantic-css-framework.css" not in html and "<title>a landing page" in html
        # Keys open only what they were made for; the token is never taken in a URL.
        other = f"api/gallery/{'f' * 32}/html?key={entry['key']}"
        for path in (
            other,
            f"api/gallery/{gallery_id}/html?key=1.x",
            f"api/gallery/{gallery_id}/html?token={auth['Authorization'][7:]}",
        ):
            async with session.get(path) as response:
                assert response.status == 401, path

        # One section written again (sampled, another seed): the same gallery page, that section new.
        status, again = await call(
            session, "POST", f"api/gallery/{gallery_id}/sections/1", auth, {"settings": {"temperature": 1.0, "seed": 7}}
        )
        assert status == 202 and again["kind"] == "section"
        told = await events(session, again)
        assert [e["index"] for e in told if e["event"] == "section"] == [1] and told[-1]["gallery_id"] == gallery_id
        _, rewritten = await call(session, "GET", f"api/gallery/{gallery_id}", auth)
        assert rewritten["sections"][0] == entry["sections"][0] and rewritten["created_at"] == entry["created_at"]
        assert (await call(session, "POST", f"api/gallery/{gallery_id}/sections/2", auth, {}))[0] == 404
        assert (await call(session, "DELETE", f"api/gallery/{gallery_id}", auth))[0] == 200
        assert (await call(session, "GET", f"api/gallery/{gallery_id}", auth))[0] == 404


def test_the_queue_has_a_cap_and_a_cancelled_page_keeps_what_it_wrote(runs_dir: Path, tmp_path: Path):
    asyncio.run(drive_queue(runs_dir, tmp_path / "data"))


async def drive_queue(runs_dir: Path, data_dir: Path) -> None:
    async with studio_server(data_dir, runs_dir=runs_dir, studio_queue=2) as (session, auth):
        long = {
            "request": REQUEST,
            "run": RUN,
            "settings": {"max_tokens": 4000},
            "plan": {"labels": ["a hero", "a footer"]},
        }
        status, first = await call(session, "POST", "api/studio/pages", auth, long)
        status2, second = await call(session, "POST", "api/studio/pages", auth, long)
        assert (status, status2) == (202, 202) and second["position"] in (1, 2)
        status, full = await call(session, "POST", "api/studio/plans", auth, {"request": REQUEST, "run": RUN})
        assert status == 429 and full["error"]["code"] == "too_many_requests"
        # The waiting one is dropped; the running one stops once its first section is told.
        _, dropped = await call(session, "DELETE", f"api/studio/jobs/{second['id']}", auth)
        assert dropped["state"] == "cancelled" and dropped["gallery_id"] is None
        told = []
        async with session.get(first["events"].lstrip("/")) as response:
            async for line in response.content:
                if line.startswith(b"data: "):
                    told.append(json.loads(line[6:]))
                    if told[-1]["event"] == "running":
                        await call(session, "DELETE", f"api/studio/jobs/{first['id']}", auth)
        done = told[-1]
        assert done["event"] == "done" and done["cancelled"] and done["gallery_id"]
        _, entry = await call(session, "GET", f"api/gallery/{done['gallery_id']}", auth)
        assert entry["status"] == "cancelled" and len(entry["sections"]) <= 1
        _, listed = await call(session, "GET", "api/gallery", auth)
        assert [item["id"] for item in listed["items"]] == [done["gallery_id"]]


NO_ML = """
import asyncio, json, sys
sys.modules.update(torch=None, transformers=None, peft=None, tinycss2=None)
from aiohttp.test_utils import TestClient, TestServer
from tinyweb_server import ServerConfig, init_app
from tinyweb_server.keys import TOKEN_KEY

async def main():
    app = init_app(ServerConfig(data_dir=sys.argv[1], runs_dir=sys.argv[2]))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        auth = {"Authorization": "Bearer " + app[TOKEN_KEY]}
        runs = await (await client.get("/api/runs", headers=auth)).json()
        post = await client.post("/api/studio/plans", json={"request": "a page", "run": "tiny"}, headers=auth)
        studio = await client.get("/studio")
        print(json.dumps({"runs": runs, "post": [post.status, await post.json()], "studio": studio.status}))

asyncio.run(main())
"""


def test_without_the_ml_extra_the_studio_says_so(runs_dir: Path, tmp_path: Path):
    """torch, transformers, peft and tinycss2 made unimportable: the server starts, lists the runs, and says why
    it cannot generate, with a 503 in the JSON error shape."""
    result = subprocess.run(
        [sys.executable, "-c", NO_ML, str(tmp_path / "data"), str(runs_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (
        not answer["runs"]["available"]
        and "no ML extra (torch, transformers, peft missing)" in answer["runs"]["message"]
    )
    assert [r["id"] for r in answer["runs"]["runs"]] == [RUN]
    status, error = answer["post"]
    assert status == 503 and error["error"]["code"] == "unavailable" and "no ML extra" in error["error"]["message"]
    assert answer["studio"] == 200


# --- the studio page, in Chromium ---------------------------------------------------------------------------------


async def drive_studio(server, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    from tinyweb.capture.browser import CHROMIUM_ARGS, chromium_path

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            # Tall enough that nothing needs scrolling: in headless Chromium a click right after Playwright scrolls a
            # page holding an out-of-process (sandboxed) frame can miss (seen: a checkbox left unchecked, a download
            # link not followed).
            page = await browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 2000})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(server.url + "studio")
            await page.fill("#token", server.token)
            await page.click("#load")
            await expect(page.locator("#run option")).to_have_text([RUN])
            await expect(page.locator("#unavailable")).to_be_hidden()

            # The plan first (the tiny model's does not parse: the fallback plan, said), edited before any section.
            await page.fill("#request", REQUEST)
            await page.click("#generate")
            labels = page.locator("#plan input.label")
            await expect(labels).to_have_count(len(FALLBACK_PLAN), timeout=MODEL_WAIT_MS)
            await expect(page.locator("#status")).to_have_text("plan written", timeout=MODEL_WAIT_MS)
            await expect(page.locator("#plan-note")).to_contain_text("fallback plan")
            await labels.nth(1).fill("a calm hero with a headline")
            for _ in range(2):
                await page.locator("#plan li").last.get_by_role("button", name="remove").click()
            await page.click("#write")
            rows = page.locator("#sections li .label")
            await expect(rows).to_have_text([FALLBACK_PLAN[0], "a calm hero with a headline", FALLBACK_PLAN[2]])
            await expect(page.locator("#status")).to_have_text("done", timeout=MODEL_WAIT_MS)
            frame = page.locator("#preview")
            await expect(frame).to_have_attribute("src", re.compile(r"^/api/gallery/[0-9a-f]{32}/html\?key="))
            assert await frame.get_attribute("sandbox") == ""
            await expect(page.frame_locator("#preview").locator("style")).to_have_count(1)
            await page.check("#phone")
            assert await frame.evaluate("frame => frame.clientWidth") == 390  # the page's viewport

            # One section again, sampled.
            await page.fill("#temperature", "1")
            await page.locator("#sections li").nth(2).get_by_role("button", name="regenerate").click()
            await expect(page.locator("#status")).to_have_text("section 3 written again", timeout=MODEL_WAIT_MS)

            await expect(page.locator("#gallery li")).to_have_count(1)
            await expect(page.locator("#gallery li img")).to_have_count(1)
            async with page.expect_download() as download:
                await page.click("#download")
            saved = tmp_path / "download.html"
            await (await download.value).save_as(saved)
            html = saved.read_text()
            assert "<style>" in html and "semantic-css-framework.css" not in html and REQUEST in html

            # After a restart the gallery still has it; then it is deleted.
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)
            await page.reload()
            item = page.locator("#gallery li")
            await expect(item).to_have_count(1)
            await expect(item).to_contain_text(REQUEST)
            await item.get_by_role("button", name="delete").click()
            await expect(item).to_have_count(0)
            assert errors == []
        finally:
            await browser.close()


def test_the_studio_page_plans_writes_rewrites_downloads_and_keeps(runs_dir: Path, tmp_path: Path):
    from tests.server_process import ServeProcess

    data_dir = tmp_path / "data"
    with ServeProcess(data_dir, args=("--runs", str(runs_dir))) as server:
        asyncio.run(drive_studio(server, tmp_path))
    with Store(data_dir) as store:
        assert store.studio_pages(10, 0) == ([], 0) and store.count() == 0


def test_an_open_stream_does_not_hold_the_servers_shutdown(tmp_path: Path):
    """A studio tab left open on a job's stream: stopping the server ends the stream at once (aiohttp would
    otherwise wait its shutdown timeout, a minute, for the request to finish)."""
    from tinyweb_server.keys import STUDIO_KEY
    from tinyweb_server.studio import Job, RunEntry

    async def scenario() -> tuple[float, list[bytes]]:
        app = init_app(ServerConfig(data_dir=tmp_path))
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        studio = app[STUDIO_KEY]
        job = Job("page", RunEntry(RUN, tmp_path, False, True), REQUEST, {})
        studio.jobs[job.id] = job
        job.publish({"event": "queued", "position": 1})
        lines = []
        async with (
            ClientSession() as session,
            session.get(
                server.make_url(f"/api/studio/jobs/{job.id}/events?key={studio.key('job', job.id)}")
            ) as response,
        ):
            lines.append(await response.content.readline())
            started = asyncio.get_running_loop().time()
            closing = asyncio.create_task(server.close())
            async with asyncio.timeout(20):  # without the stream ended, aiohttp waits a minute
                lines += [line async for line in response.content]
                await closing
            return asyncio.get_running_loop().time() - started, lines

    seconds, lines = asyncio.run(scenario())
    assert lines[0].startswith(b"id: 0") and b"heartbeat" not in b"".join(lines)
    assert seconds < 5, f"the server took {seconds:.1f} s to stop"

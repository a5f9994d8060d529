"""The design studio in the server: the runs it may use, the jobs queued in front of one worker process, each
job's events for its stream, and the short-lived keys that open a job's stream or a generated page in a URL.

One worker process (tinyweb_server.worker, started on the first job and kept, so a model is loaded once) writes
one job at a time; the rest wait in a queue of at most `studio_queue` jobs (a 429 beyond), each told its place.
Its events come back on the worker's stdout, read here on the event loop; a finished page goes into the gallery
(the store's `studio_pages`, never `snapshots`). Runs are found afresh on each request: the shipped run (id
"default") when the install has one, and every run folder directly under --runs; a client names a run by id,
never by path.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import hashlib
import hmac
import importlib.util
import json
import logging
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.layout import ADAPTER_DIR, RUN_FILE
from tinyweb.learn.runs import DEFAULT_RUN, composes
from tinyweb.store import Store, StudioPage
from tinyweb_server.config import ServerConfig

log = logging.getLogger("tinyweb.server")

ML_MODULES = ("torch", "transformers", "peft")
SHIPPED_ID = "default"
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # models.RUN_PATTERN, for folder names
KEY_TTL_S = 600  # a key in a URL (history, logs) opens its job or page for ten minutes
KEPT_JOBS = 64  # finished jobs remembered (for their streams, their plans), the oldest forgotten first
WORKER_LINE_BYTES = 256 * 1024 * 1024  # one event: a page with its framework rules and a screenshot
WORKER_STOP_S = 5  # after closing its stdin, how long the worker may take to exit before it is killed
TERMINAL = {"done", "error"}


class StudioError(Exception):
    """A request the studio refuses: answered with `status` in the JSON error shape."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def ml_missing() -> str | None:
    """Why this install cannot generate (the ML extra's modules it lacks), or None."""
    missing = [name for name in ML_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"this install has no ML extra ({', '.join(missing)} missing), so the studio cannot generate: "
        "install tinyweb[build] (with torch 2.13.0, the CPU build, first) and start `tinyweb serve` again"
    )


@dataclass(frozen=True)
class RunEntry:
    id: str
    folder: Path
    shipped: bool
    composed: bool


def find_runs(runs_dir: Path | None, shipped: Path = DEFAULT_RUN) -> dict[str, RunEntry]:
    """The runs the studio may use, by id: the shipped one and each finished run folder under `runs_dir`."""
    found = {}
    candidates = [(SHIPPED_ID, shipped, True)]
    if runs_dir is not None and runs_dir.is_dir():
        names = sorted(p.name for p in runs_dir.iterdir() if RUN_NAME.fullmatch(p.name) and p.name != SHIPPED_ID)
        candidates += [(name, runs_dir / name, False) for name in names]
    for run_id, folder, is_shipped in candidates:
        if not (folder / ADAPTER_DIR / "adapter_config.json").is_file():
            continue
        try:
            config = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a run (or not yet one): left out of the list
        found[run_id] = RunEntry(run_id, folder, is_shipped, composes(config))
    return found


def job_id() -> str:
    return secrets.token_hex(16)


@dataclass
class Job:
    """A job and what it told: `events` in order (each with its `seq`, the stream's event id)."""

    kind: str  # plan, page or section
    run: RunEntry
    request: str
    settings: dict[str, Any]
    plan: dict[str, Any] | None = None
    gallery_id: str | None = None  # a section job: the page it writes into; a page job: the page it made
    index: int | None = None
    sections: list[dict[str, Any]] = field(default_factory=list)
    id: str = field(default_factory=job_id)
    state: str = "queued"
    sent: bool = False  # the worker has it: a cancel goes to the worker
    cancelling: bool = False
    error: str | None = None
    html: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append({**event, "seq": len(self.events)})
        self.changed.set()
        self.changed = asyncio.Event()  # waiters hold the one that was just set

    @property
    def finished(self) -> bool:
        return self.state in ("done", "cancelled", "failed")


class Studio:
    """The queue, the worker and the keys of one server."""

    def __init__(self, config: ServerConfig, store: Store):
        self.config = config
        self.store = store
        self.cap = config.studio_queue
        self.secret = secrets.token_bytes(32)  # signs keys; a restart voids them, as a short life should
        self.jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self.waiting: collections.deque[Job] = collections.deque()
        self.running: Job | None = None
        self.wake = asyncio.Event()
        self.worker: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[None] | None = None
        self.unavailable = ml_missing()
        self.closing = False  # the server is stopping: streams end now rather than hold its shutdown

    # --- runs and keys ------------------------------------------------------------------------------------------

    def runs(self) -> dict[str, RunEntry]:
        return find_runs(self.config.runs_dir)

    def run(self, run_id: str) -> RunEntry:
        run = self.runs().get(run_id)
        if run is None:
            raise StudioError(404, f"no run {run_id!r}: GET /api/runs lists the runs this server has")
        return run

    def key(self, scope: str, ident: str) -> str:
        """A key opening `ident` (a job or a gallery page) for KEY_TTL_S: its expiry and a signature over it."""
        expires = int(time.time()) + KEY_TTL_S
        return f"{expires}.{self._sign(scope, ident, expires)}"

    def opens(self, scope: str, ident: str, key: str) -> bool:
        expires, _, signature = key.partition(".")
        if not expires.isdigit() or int(expires) < time.time() or int(expires) > time.time() + KEY_TTL_S:
            return False
        return hmac.compare_digest(signature.encode(), self._sign(scope, ident, int(expires)).encode())

    def _sign(self, scope: str, ident: str, expires: int) -> str:
        digest = hmac.new(self.secret, f"{scope}\n{ident}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    # --- the queue ------------------------------------------------------------------------------------------

    def submit(self, job: Job) -> Job:
        """Queue `job` (503 without the ML extra, 429 with the queue full)."""
        if self.unavailable:
            raise StudioError(503, self.unavailable)
        if len(self.waiting) + (self.running is not None) >= self.cap:
            raise StudioError(429, f"the studio has {self.cap} jobs already: wait for one to finish, or cancel one")
        self.jobs[job.id] = job
        while len(self.jobs) > KEPT_JOBS + self.cap:
            oldest = next(j for j in self.jobs.values() if j.finished or j is job)
            if oldest is job:
                break
            del self.jobs[oldest.id]
        self.waiting.append(job)
        job.publish({"event": "queued", "position": self.position(job)})
        if self.task is None:
            self.task = asyncio.create_task(self._serve(), name="tinyweb-studio")
        self.wake.set()
        return job

    def job(self, ident: str) -> Job:
        job = self.jobs.get(ident)
        if job is None:
            raise StudioError(404, f"no studio job {ident} (finished jobs are forgotten after a while)")
        return job

    def position(self, job: Job) -> int | None:
        if job is self.running:
            return 0
        return self.waiting.index(job) + 1 if job in self.waiting else None

    async def cancel(self, job: Job) -> None:
        """A waiting job is dropped; a running one stops within a token and keeps what it wrote."""
        if job in self.waiting:
            self.waiting.remove(job)
            job.state = "cancelled"
            job.publish({"event": "done", "cancelled": True, "gallery_id": job.gallery_id})
            self._tell_positions()
        elif job is self.running and not job.cancelling:
            job.cancelling = True
            if job.sent:
                await self._send({"op": "cancel", "job": job.id})  # else _run sends it with the job

    def _tell_positions(self) -> None:
        for place, waiting in enumerate(self.waiting, 1):
            waiting.publish({"event": "queued", "position": place})

    async def _serve(self) -> None:
        while True:
            while not self.waiting:
                self.wake.clear()
                await self.wake.wait()
            job = self.running = self.waiting.popleft()
            job.state = "running"
            job.publish({"event": "running"})
            self._tell_positions()
            try:
                await self._run(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the worker died or answered nonsense: this job fails, the next gets a new one
                log.exception("studio job %s failed", job.id)
                await self._stop_worker()
                self._fail(job, f"the studio's worker stopped ({exc}): see the server's log")
            finally:
                self.running = None

    async def _start_worker(self) -> asyncio.subprocess.Process:
        if self.worker is None or self.worker.returncode is not None:
            self.worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tinyweb_server.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=WORKER_LINE_BYTES,
            )
        return self.worker

    async def _run(self, job: Job) -> None:
        worker = await self._start_worker()
        assert worker.stdout is not None
        message = {"op": job.kind, "job": job.id, "run": str(job.run.folder), "request": job.request}
        message |= {"settings": job.settings, "plan": job.plan, "sections": job.sections, "index": job.index}
        await self._send(message)
        job.sent = True
        if job.cancelling:  # cancelled while the worker was starting
            await self._send({"op": "cancel", "job": job.id})
        while True:
            line = await worker.stdout.readline()
            if not line:
                raise RuntimeError(f"it exited with {await worker.wait()}")
            event = json.loads(line)
            if event.pop("job") != job.id:
                continue  # a late line of a job that failed before
            if event["event"] in TERMINAL:
                return await self._finish(job, event)
            if event["event"] == "section":
                job.html = event["html"]
            if event["event"] == "plan":
                job.plan = event["plan"]
            job.publish({k: v for k, v in event.items() if k != "html"})

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.worker is not None and self.worker.stdin is not None
        self.worker.stdin.write(json.dumps(message).encode() + b"\n")
        await self.worker.stdin.drain()

    def _fail(self, job: Job, message: str) -> None:
        job.state, job.error = "failed", message
        job.publish({"event": "error", "message": message})

    async def _finish(self, job: Job, event: dict[str, Any]) -> None:
        if event["event"] == "error":
            return self._fail(job, event["message"])
        if job.kind == "plan":
            job.plan = event.get("plan", job.plan)
        else:
            job.html = event["html"]
            job.gallery_id = await asyncio.to_thread(self._keep, job, event)
        job.state = "cancelled" if event.get("cancelled") else "done"
        job.publish({"event": "done", "cancelled": job.state == "cancelled", "gallery_id": job.gallery_id})

    def _keep(self, job: Job, event: dict[str, Any]) -> str:
        """The page into the gallery: a new one for a page job, the same one again for a section job."""
        shot = base64.b64decode(event["screenshot"]) if event.get("screenshot") else None
        settings = {**job.settings, "mode": event["mode"]}
        page = StudioPage(
            job.gallery_id or job_id(),
            job.request,
            job.run.id,
            settings,
            event["plan"],
            event["sections"],
            event["html"],
            shot,
            event["seconds"],
            "cancelled" if event["cancelled"] else "done",
        )
        if job.kind == "section" and (before := self.store.studio_page(page.id)) is not None:
            page.created_at = before.created_at
            page.status = before.status
        return self.store.put_studio_page(page).id

    async def _stop_worker(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None or worker.returncode is not None:
            return
        if worker.stdin is not None:
            worker.stdin.close()  # the worker ends at the end of its stdin
        try:
            await asyncio.wait_for(worker.wait(), WORKER_STOP_S)
        except TimeoutError:
            worker.kill()
            await worker.wait()

    def end_streams(self) -> None:
        """Every open stream ends (on the server's shutdown, before it waits for requests to finish)."""
        self.closing = True
        for job in self.jobs.values():
            job.changed.set()

    async def close(self) -> None:
        busy = self.running is not None
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if busy and self.worker is not None and self.worker.returncode is None:
            self.worker.kill()  # a job still running when the server stops: it is not waited for
        await self._stop_worker()

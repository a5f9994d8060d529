"""The studio's worker process, `python -m tinyweb_server.worker`, which the server starts (tinyweb_server.studio).

It reads jobs as JSON lines on stdin and writes their events as JSON lines on stdout, one job at a time
(tinyweb.learn.studio does the work). A run's model is loaded once and kept for the jobs after it; torch uses one
thread, so the other core keeps serving snapshots. A line {"op": "cancel", "job": ID} stops that job within a
token: stdin is read on a thread of its own while a job runs. Nothing else is written to stdout (what libraries
print goes to stderr, the server's log).

Every event names its job: {"job": ID, "event": "loading" | "plan" | "sections" | "section" | "done" | "error", …}.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import sys
import threading
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("tinyweb.studio")


class Worker:
    """One loaded run at a time, the job being run, and the cancels asked for."""

    def __init__(self, out: IO[str]):
        self.out = out
        self.lock = threading.Lock()
        self.jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.cancelled: set[str] = set()
        self.run: Any = None

    def emit(self, job: str, event: dict[str, Any]) -> None:
        if isinstance(event.get("screenshot"), bytes):
            event["screenshot"] = base64.b64encode(event["screenshot"]).decode()
        with self.lock:
            self.out.write(json.dumps({"job": job, **event}) + "\n")
            self.out.flush()

    def read(self, lines: IO[str]) -> None:
        """stdin: cancels are noted at once, jobs queued; the end of stdin (the server went) ends the worker."""
        for line in lines:
            message = json.loads(line)
            if message.get("op") == "cancel":
                self.cancelled.add(message["job"])
            else:
                self.jobs.put(message)
        self.jobs.put(None)

    def load(self, job: str, folder: Path) -> Any:
        from tinyweb.errors import UsageError
        from tinyweb.layout import FRAMEWORK_CSS
        from tinyweb.learn.runs import load_run

        if self.run is None or self.run.folder != folder:
            self.run = None  # the old model goes before the new one loads
            self.emit(job, {"event": "loading"})
            run = load_run(folder, merge=True)
            if not run.css:
                raise UsageError(f"the run has no {FRAMEWORK_CSS}: its pages would have no styles")
            self.run = run
        return self.run

    def work(self, message: dict[str, Any]) -> None:
        from tinyweb.errors import TinywebError
        from tinyweb.learn import studio

        job = message["job"]

        def emit(event: dict[str, Any]) -> None:
            self.emit(job, event)

        def cancelled() -> bool:
            return job in self.cancelled

        try:
            run = self.load(job, Path(message["run"]))
            request, settings = message["request"], message["settings"]
            if message["op"] == "plan":
                studio.plan_job(run, request, settings, emit)
            elif message["op"] == "page":
                studio.page_job(run, request, settings, message.get("plan"), emit, cancelled)
            else:
                studio.section_job(
                    run, request, settings, message["plan"], message["sections"], message["index"], emit, cancelled
                )
        except TinywebError as exc:
            emit({"event": "error", "message": str(exc)})
        except Exception as exc:
            log.exception("studio job %s failed", job)
            emit({"event": "error", "message": f"the model failed: {type(exc).__name__}: {exc}"})
        finally:
            self.cancelled.discard(job)


def main() -> None:
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")  # the protocol's own copy of stdout
    os.dup2(2, 1)  # anything else printed, by Python or by C, goes to the log
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    worker = Worker(out)
    threading.Thread(target=worker.read, args=(sys.stdin,), name="tinyweb-studio-stdin", daemon=True).start()
    while (message := worker.jobs.get()) is not None:
        worker.work(message)


if __name__ == "__main__":
    main()

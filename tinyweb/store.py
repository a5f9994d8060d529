"""SQLite persistence for snapshots, failures, crawl frontiers and the studio's gallery: the only module that
speaks SQL."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinyweb.errors import StoreError
from tinyweb.private import FILE_MODE, make_private, private_dir
from tinyweb.snapshot import Snapshot, upgrade_record
from tinyweb.urls import normalize_url

DB_NAME = "tinyweb.sqlite3"
# Records are 10-200 KB: 16 KiB pages make their overflow chains a quarter as long as the default 4 KiB
# (a 100 KB insert measured 0.16 -> 0.10 ms, its checkpoint 0.30 -> 0.22 ms).
PAGE_SIZE = 16384
# Snapshot fields whose default is the time of validation: a stored body must state them to load the same.
TIMED_DEFAULTS = frozenset({"captured_at"})
# With background checkpoints: how long the checkpointer lets commits gather before it copies them from the
# write-ahead log into the database (one checkpoint, with its two fsyncs, for many commits).
CHECKPOINT_INTERVAL_S = 0.25
DB_VERSION = 3  # 2: labels; 3: the studio's gallery

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    url_norm TEXT NOT NULL,
    title TEXT NOT NULL,
    domain TEXT NOT NULL,
    source TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    captured_at TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    html_bytes INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_url ON snapshots(url_norm);
CREATE INDEX IF NOT EXISTS snapshots_stored ON snapshots(stored_at);
CREATE TABLE IF NOT EXISTS failures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS crawl_pages (
    crawl_id TEXT NOT NULL,
    url_norm TEXT NOT NULL,
    url TEXT NOT NULL,
    depth INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed', 'skipped')),
    reason TEXT,
    snapshot_id TEXT,
    seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (crawl_id, url_norm)
);
CREATE INDEX IF NOT EXISTS crawl_pages_queue ON crawl_pages(crawl_id, state, depth, seq);
CREATE TABLE IF NOT EXISTS labels (
    snapshot_id TEXT NOT NULL,
    source TEXT NOT NULL,
    label TEXT NOT NULL,
    version TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, source)
);
-- Pages the studio generated: the model's output, never a snapshot, so no build or export can read it back
-- into a training set.
CREATE TABLE IF NOT EXISTS studio_pages (
    id TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    run TEXT NOT NULL,
    settings TEXT NOT NULL,
    plan TEXT NOT NULL,
    sections TEXT NOT NULL,
    html TEXT NOT NULL,
    screenshot BLOB,
    seconds REAL NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS studio_pages_created ON studio_pages(created_at);
"""


def default_data_dir() -> Path:
    return Path(os.environ.get("TINYWEB_DATA", "tinyweb-data"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Failure:
    url: str
    reason: str
    detail: str
    source: str
    failed_at: str


@dataclass(frozen=True)
class StoredLabel:
    snapshot_id: str
    source: str  # "manual" or the labeller that wrote it
    label: str
    version: str  # the labeller's version when it wrote the label ("manual" for people's labels)
    updated_at: str


@dataclass(frozen=True)
class SnapshotRow:
    """What a listing shows of a stored snapshot, without loading its record."""

    id: str
    url: str
    title: str
    domain: str
    source: str
    captured_at: str
    stored_at: str
    html_bytes: int


@dataclass(frozen=True)
class SnapshotStats:
    count: int
    html_bytes: int
    domains: int
    top_domains: list[tuple[str, int]]


@dataclass
class StudioPage:
    """A page the studio generated (the gallery): what was asked, with what, and what the model wrote."""

    id: str
    request: str
    run: str  # the run's id in the studio
    settings: dict[str, Any]
    plan: dict[str, Any] | None  # None for a one-shot page
    sections: list[dict[str, Any]]
    html: str  # the whole page in one file, the framework rules it uses inline
    screenshot: bytes | None
    seconds: float  # the model's time for what the page holds now
    status: str  # "done", or "cancelled" (the page holds what was written before)
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class StudioPageRow:
    """What the gallery lists of a page, without its HTML and screenshot."""

    id: str
    request: str
    run: str
    mode: str
    seconds: float
    status: str
    created_at: str
    updated_at: str
    screenshot: bool


@dataclass(frozen=True)
class CrawlPage:
    url: str
    depth: int
    state: str
    reason: str | None
    snapshot_id: str | None


class Store:
    """A data directory holding one SQLite database in WAL mode. Safe to share between threads."""

    def __init__(self, data_dir: str | os.PathLike[str], background_checkpoints: bool = False):
        """`background_checkpoints`: copy committed pages from the WAL into the database on a thread of its
        own instead of in the commit that fills the log (the server's writes then never wait for it)."""
        self.data_dir = private_dir(data_dir, "data directory")
        self.path = self.data_dir / DB_NAME
        private_database(self.path)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # (a new database only; before WAL mode)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._db.execute(f"PRAGMA user_version={DB_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable tinyweb database: {exc}") from exc
        self._checkpointer: Checkpointer | None = None
        if background_checkpoints:
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = Checkpointer(self.path)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            self._db.close()  # the last connection to close checkpoints the whole log

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- snapshots --------------------------------------------------------------------------------

    def add(self, snapshot: Snapshot) -> tuple[str, bool]:
        """Insert a snapshot; return (id, created). The same page captured twice unchanged is stored once."""
        return self.add_many([snapshot])[0]

    def add_many(self, snapshots: list[Snapshot], bodies: list[bytes] | None = None) -> list[tuple[str, bool]]:
        """Insert several snapshots in one transaction (committed before this returns). `bodies`: the JSON
        each snapshot was validated from (the server's request bodies), stored as received instead of
        serialising the record again, unless it left out a field whose default is the time of validation:
        loading the record validates it into the same Snapshot either way."""
        records = [
            body.decode("utf-8")
            if body is not None and snap.model_fields_set >= TIMED_DEFAULTS
            else snap.model_dump_json()
            for snap, body in zip(snapshots, bodies if bodies is not None else [None] * len(snapshots), strict=True)
        ]
        results = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for snap, record in zip(snapshots, records, strict=True):
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO snapshots VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            snap.id,
                            snap.url,
                            normalize_url(snap.url),
                            snap.title,
                            snap.domain,
                            snap.source,
                            snap.schema_version,
                            snap.captured_at.isoformat(),
                            _now(),
                            _utf8_length(snap.html),
                            record,
                        ),
                    )
                    results.append((snap.id, cur.rowcount == 1))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if self._checkpointer is not None:
            self._checkpointer.notify()
        return results

    def get(self, snapshot_id: str) -> Snapshot | None:
        with self._lock:
            row = self._db.execute("SELECT record FROM snapshots WHERE id = ?", (snapshot_id,)).fetchone()
        return _load(row[0]) if row else None

    def delete(self, snapshot_id: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute("DELETE FROM snapshots WHERE id = ?", (snapshot_id,))
                self._db.execute("DELETE FROM labels WHERE snapshot_id = ?", (snapshot_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return cur.rowcount == 1

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]

    def ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM snapshots ORDER BY rowid")]

    def iter_snapshots(self) -> Iterator[Snapshot]:
        """All snapshots in the order they were stored."""
        for snapshot_id in self.ids():
            snap = self.get(snapshot_id)
            if snap is not None:
                yield snap

    def rows(self, limit: int, offset: int = 0) -> list[SnapshotRow]:
        """One page of snapshot rows, most recently stored first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, url, title, domain, source, captured_at, stored_at, html_bytes FROM snapshots "
                "ORDER BY stored_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (limit, offset),
            )
            return [SnapshotRow(*row) for row in rows]

    def stats(self, top: int = 10) -> SnapshotStats:
        """How many snapshots, their HTML bytes, how many domains, and the `top` domains by snapshot count."""
        with self._lock:
            count, size, domains = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(html_bytes), 0), COUNT(DISTINCT domain) FROM snapshots"
            ).fetchone()
            top_rows = self._db.execute(
                "SELECT domain, COUNT(*) AS n FROM snapshots GROUP BY domain ORDER BY n DESC, domain LIMIT ?", (top,)
            ).fetchall()
        return SnapshotStats(count, size, domains, [(d, n) for d, n in top_rows])

    # --- the studio's gallery ---------------------------------------------------------------------

    def put_studio_page(self, page: StudioPage) -> StudioPage:
        """Store a generated page, or replace the one with its id (keeping when it was first stored)."""
        now = _now()
        page.created_at, page.updated_at = page.created_at or now, now
        row = (
            page.id,
            page.request,
            page.run,
            json.dumps(page.settings),
            json.dumps(page.plan),
            json.dumps(page.sections),
            page.html,
            page.screenshot,
            page.seconds,
            page.status,
            page.created_at,
            page.updated_at,
        )
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO studio_pages VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
        return page

    def studio_page(self, page_id: str) -> StudioPage | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM studio_pages WHERE id = ?", (page_id,)).fetchone()
        if row is None:
            return None
        settings, plan, sections = (json.loads(text) for text in row[3:6])
        return StudioPage(row[0], row[1], row[2], settings, plan, sections, *row[6:])

    def studio_pages(self, limit: int, offset: int = 0) -> tuple[list[StudioPageRow], int]:
        """One page of the gallery, newest first, and how many pages it holds."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, request, run, json_extract(settings, '$.mode'), seconds, status, created_at, updated_at, "
                "screenshot IS NOT NULL FROM studio_pages ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            total = self._db.execute("SELECT COUNT(*) FROM studio_pages").fetchone()[0]
        return [StudioPageRow(*row[:8], bool(row[8])) for row in rows], total

    def delete_studio_page(self, page_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM studio_pages WHERE id = ?", (page_id,)).rowcount == 1

    # --- labels -----------------------------------------------------------------------------------

    def put_labels(self, rows: list[tuple[str, str, str, str]]) -> None:
        """Store (snapshot_id, source, label, version) rows in one transaction; one label per page and source."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO labels VALUES (?,?,?,?,?)", [(*row, _now()) for row in rows]
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def delete_labels(self, source: str, snapshot_ids: list[str]) -> int:
        with self._lock:
            cur = self._db.executemany(
                "DELETE FROM labels WHERE source = ? AND snapshot_id = ?", [(source, i) for i in snapshot_ids]
            )
        return cur.rowcount

    def labels(self, source: str | None = None) -> list[StoredLabel]:
        """Every stored label (of one source, if given), oldest first."""
        query = "SELECT snapshot_id, source, label, version, updated_at FROM labels"
        args: tuple[str, ...] = ()
        if source is not None:
            query += " WHERE source = ?"
            args = (source,)
        with self._lock:
            return [StoredLabel(*row) for row in self._db.execute(query + " ORDER BY updated_at, rowid", args)]

    def urls(self) -> dict[str, str]:
        """snapshot id → URL, for every snapshot."""
        with self._lock:
            return dict(self._db.execute("SELECT id, url FROM snapshots"))

    # --- failures ---------------------------------------------------------------------------------

    def record_failure(self, url: str, reason: str, detail: str = "", source: str = "crawler") -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO failures (url, reason, detail, source, failed_at) VALUES (?,?,?,?,?)",
                (url, reason, detail[:4000], source, _now()),
            )

    def failures(self) -> list[Failure]:
        with self._lock:
            rows = self._db.execute("SELECT url, reason, detail, source, failed_at FROM failures ORDER BY seq")
            return [Failure(*row) for row in rows]

    # --- crawl frontier ---------------------------------------------------------------------------

    def enqueue(self, crawl_id: str, url: str, depth: int) -> bool:
        """Queue a URL for a crawl unless that crawl has seen it already. Returns True if it was new."""
        with self._lock:
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM crawl_pages").fetchone()[0]
            cur = self._db.execute(
                "INSERT OR IGNORE INTO crawl_pages VALUES (?,?,?,?, 'queued', NULL, NULL, ?, ?)",
                (crawl_id, normalize_url(url), url, depth, seq, _now()),
            )
        return cur.rowcount == 1

    def next_queued(self, crawl_id: str, limit: int, exclude: set[str]) -> list[CrawlPage]:
        """Queued pages, shallowest first (breadth-first), then in discovery order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT url, depth, state, reason, snapshot_id, url_norm FROM crawl_pages "
                "WHERE crawl_id = ? AND state = 'queued' ORDER BY depth, seq LIMIT ?",
                (crawl_id, limit + len(exclude)),
            ).fetchall()
        return [CrawlPage(*row[:5]) for row in rows if row[5] not in exclude][:limit]

    def finish_page(
        self, crawl_id: str, url: str, state: str, reason: str | None = None, snapshot_id: str | None = None
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE crawl_pages SET state = ?, reason = ?, snapshot_id = ?, updated_at = ? "
                "WHERE crawl_id = ? AND url_norm = ?",
                (state, reason, snapshot_id, _now(), crawl_id, normalize_url(url)),
            )

    def crawl_pages(self, crawl_id: str) -> list[CrawlPage]:
        with self._lock:
            rows = self._db.execute(
                "SELECT url, depth, state, reason, snapshot_id FROM crawl_pages WHERE crawl_id = ? ORDER BY seq",
                (crawl_id,),
            )
            return [CrawlPage(*row) for row in rows]


def private_database(path: Path) -> None:
    """The database file made 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's
    own mode. A database from before (0644) is set to 0600, its -wal and -shm with it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE))
    except FileExistsError:
        for suffix in ("", "-wal", "-shm"):
            make_private(f"{path}{suffix}")
    except OSError as exc:
        raise StoreError(f"cannot create the database {path}: {exc.strerror}") from exc


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))  # isascii() is O(1) on a str


class Checkpointer:
    """A thread with its own connection that checkpoints the WAL (PASSIVE: never blocking a writer or a
    reader) a moment after commits arrive. Commits are durable in the log itself (synchronous=NORMAL: they
    survive a killed process); the checkpoint keeps the log from growing without end."""

    def __init__(self, path: Path, interval_s: float = CHECKPOINT_INTERVAL_S):
        self.interval_s = interval_s
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tinyweb-checkpoint", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._dirty.set()

    def stop(self) -> None:
        self._stopping.set()
        self._dirty.set()
        self._thread.join()
        self._db.close()

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._stopping.wait(self.interval_s):
                return
            self._dirty.clear()
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                self._dirty.set()  # busy or failing now: the next round tries again


def _load(record: str) -> Snapshot:
    return Snapshot.model_validate(upgrade_record(json.loads(record)))

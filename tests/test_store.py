"""Snapshot records and the SQLite store: ids, idempotent inserts, failures, the crawl frontier."""

from __future__ import annotations

import hashlib
import sqlite3
import time

import pytest
from pydantic import ValidationError

from tinyweb.errors import StoreError
from tinyweb.snapshot import SCHEMA_VERSION, CaptureStats, Snapshot, snapshot_id
from tinyweb.store import Store
from tinyweb.urls import normalize_url


def make_snapshot(url="http://127.0.0.1:8000/a.html", html="<!DOCTYPE html><html><body>x</body></html>", **kw):
    stats = CaptureStats(element_count=3, raw_html_bytes=40, capture_ms=5.0, seed_format_bytes=900)
    return Snapshot(url=url, html=html, stats=stats, title="A", **kw)


def test_id_is_sha256_of_normalised_url_newline_html():
    html = "<html>same</html>"
    expected = hashlib.sha256(b"http://example.com/a/c?x=1&y=2\n" + html.encode()).hexdigest()[:32]
    assert snapshot_id("HTTP://Example.COM:80/a/b/../c?y=2&x=1#frag", html) == expected


def test_record_carries_its_id_and_rejects_a_wrong_one():
    snap = make_snapshot()
    assert snap.id == snapshot_id(snap.url, snap.html)
    assert snap.schema_version == SCHEMA_VERSION
    with pytest.raises(ValidationError, match="does not match"):
        make_snapshot(id="0" * 32)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        make_snapshot(colour="red")


def test_round_trip_through_json():
    snap = make_snapshot(og={"title": "A"}, warnings=["w"])
    again = Snapshot.model_validate_json(snap.model_dump_json())
    assert again == snap


def test_insert_is_idempotent(tmp_path):
    with Store(tmp_path) as store:
        snap = make_snapshot()
        assert store.add(snap) == (snap.id, True)
        assert store.add(make_snapshot()) == (snap.id, False), "same page, same id, stored once"
        other = make_snapshot(html="<html><body>changed</body></html>")
        assert store.add(other) == (other.id, True)
        assert store.count() == 2
        assert store.get(snap.id) == snap
        assert [s.id for s in store.iter_snapshots()] == [snap.id, other.id]
        assert store.delete(snap.id) and not store.delete(snap.id)
        assert store.get(snap.id) is None


def test_bodies_are_stored_as_received_and_load_as_the_same_snapshot(tmp_path):
    """A posted body is kept as received when it states its capture time; one that leaves the time to its
    default is serialised with it, so it does not load with a new time every time."""

    def body(page: str, dated: bool) -> bytes:
        when = ', "captured_at": "2026-11-28T10:00:00Z"' if dated else ""
        html = f"<!DOCTYPE html><html><body>caf\u00e9 \u2014 {page}</body></html>"
        stats = '{"element_count": 3, "raw_html_bytes": 40, "capture_ms": 5.0}'
        url = f"http://127.0.0.1:8000/{page}"
        return f'{{"url": "{url}", "title": "A", "html": "{html}"{when}, "stats": {stats}}}'.encode()

    bodies = [body("dated", True), body("undated", False)]
    received = [Snapshot.model_validate_json(b) for b in bodies]
    with Store(tmp_path) as store:
        assert store.add_many(received, bodies) == [(s.id, True) for s in received]
        assert [store.get(s.id) for s in received] == received, "no id in the body: it is derived when loaded"
        assert {r.url: r.html_bytes for r in store.rows(10, 0)} == {s.url: len(s.html.encode()) for s in received}
    with sqlite3.connect(tmp_path / "tinyweb.sqlite3") as db:
        records = dict(db.execute("SELECT url, record FROM snapshots").fetchall())
    assert records["http://127.0.0.1:8000/dated"] == bodies[0].decode()
    assert records["http://127.0.0.1:8000/undated"] == received[1].model_dump_json()


def test_background_checkpoints_keep_commits_off_the_checkpoint(tmp_path):
    """Commits leave the pages in the WAL; the checkpointer thread copies them into the database a moment
    later; closing checkpoints the rest and removes the log."""
    big = [
        make_snapshot(url=f"http://127.0.0.1:8000/{n}.html", html="<p>" + "x" * 200_000 + f"{n}</p>") for n in range(8)
    ]
    db_file = tmp_path / "tinyweb.sqlite3"
    with Store(tmp_path, background_checkpoints=True) as store:
        assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        empty = db_file.stat().st_size
        store.add_many(big)
        deadline = time.monotonic() + 10
        while db_file.stat().st_size < empty + 1_000_000:
            assert time.monotonic() < deadline, "the checkpointer did not copy the commits into the database"
            time.sleep(0.05)
        assert [s.id for s in store.iter_snapshots()] == [s.id for s in big]
    assert not (tmp_path / "tinyweb.sqlite3-wal").exists()
    with Store(tmp_path) as store:
        assert store.count() == 8


def test_database_is_wal_and_survives_reopening(tmp_path):
    with Store(tmp_path) as store:
        store.add(make_snapshot())
        store.record_failure("http://x/", "timeout", "took too long")
    with Store(tmp_path) as store:
        assert store.count() == 1
        assert [(f.url, f.reason) for f in store.failures()] == [("http://x/", "timeout")]
    mode = sqlite3.connect(tmp_path / "tinyweb.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_unusable_data_directory_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create data directory"):
        Store(tmp_path / "file" / "data")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tinyweb.sqlite3").write_text("garbage " * 100)
    with pytest.raises(StoreError, match="not a usable tinyweb database"):
        Store(tmp_path / "bad")


def test_frontier_is_breadth_first_and_deduplicated(tmp_path):
    with Store(tmp_path) as store:
        assert store.enqueue("c", "http://h/b", 1)
        assert store.enqueue("c", "http://h/a", 0)
        assert not store.enqueue("c", "http://H/a#top", 0), "normalised duplicates are ignored"
        assert store.enqueue("other", "http://h/a", 0), "another crawl has its own frontier"
        assert [p.url for p in store.next_queued("c", 10, set())] == ["http://h/a", "http://h/b"]
        assert [p.url for p in store.next_queued("c", 10, {normalize_url("http://h/a")})] == ["http://h/b"]
        store.finish_page("c", "http://h/a", "done", snapshot_id="f" * 32)
        assert [p.url for p in store.next_queued("c", 10, set())] == ["http://h/b"]
        states = {p.url: p.state for p in store.crawl_pages("c")}
        assert states == {"http://h/b": "queued", "http://h/a": "done"}


def test_newer_schema_is_refused(tmp_path):
    with Store(tmp_path) as store:
        snap = make_snapshot()
        store.add(snap)
        store._db.execute(
            "UPDATE snapshots SET record = replace(record, '\"schema_version\":1', '\"schema_version\":99')"
        )
        with pytest.raises(ValueError, match="newer than this tinyweb"):
            store.get(snap.id)

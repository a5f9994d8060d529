"""The crawler's keeper of probe references between captures (the capture script packs and unpacks them;
tests/test_capture.py checks that snapshots are the same with and without it)."""

from __future__ import annotations

import json

from tinyweb.capture.probecache import ProbeCache


def report(scope="s", bases=None, entries=None, families=None, hits=0):
    entries = entries or {}
    added = {"bases": bases or {}, "entries": entries, "families": families or {k: k for k in entries}}
    return {"scope": scope, "hits": hits, "misses": len(entries), "added": json.dumps(added) if entries else None}


def test_lookup_returns_the_asked_families_of_the_scope():
    cache = ProbeCache()
    assert cache.lookup("s", ["div"]) is None
    cache.update(
        report(
            bases={"3": ["a", None, "c"]},
            entries={"div": {"n": 3, "d": [1, "b"], "h": []}, "p@20px": {"n": 3, "d": [], "h": [0, 1]}},
            families={"div": "div", "p@20px": "p"},
        )
    )
    found = json.loads(cache.lookup("s", ["p", "span"]))
    assert found == {"bases": {"3": ["a", None, "c"]}, "entries": {"p@20px": {"n": 3, "d": [], "h": [0, 1]}}}
    assert set(json.loads(cache.lookup("s", ["div", "p"]))["entries"]) == {"div", "p@20px"}
    assert cache.lookup("other scope", ["div"]) is None
    assert cache.lookup("s", ["span"]) is None
    assert len(cache) == 2 and (cache.last.hits, cache.last.misses) == (0, 2)


def test_entries_on_other_bases_are_dropped_and_the_first_kept():
    cache = ProbeCache()
    cache.update(report(bases={"2": ["a", "b"]}, entries={"div": {"n": 2, "d": [], "h": []}}))
    cache.update(report(bases={"2": ["x", "y"]}, entries={"span": {"n": 2, "d": [], "h": []}}))
    cache.update(report(entries={"div": {"n": 2, "d": [0, "changed"], "h": []}}, hits=4))
    assert len(cache) == 1
    assert json.loads(cache.lookup("s", ["div", "span"]))["entries"] == {"div": {"n": 2, "d": [], "h": []}}
    assert cache.total.hits == 4 and cache.total.misses == 3 and cache.last.hit_rate == 0.8


def test_the_cache_is_bounded():
    cache = ProbeCache(max_entries=3)
    cache.update(report(entries={f"tag{i}": {"n": 0, "d": [], "h": []} for i in range(5)}))
    assert len(cache) == 3
    cache.update(None)
    assert len(cache) == 3

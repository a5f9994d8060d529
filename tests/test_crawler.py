"""Crawler mode against a real site on loopback: scope, robots.txt, failures with reasons, resuming."""

from __future__ import annotations

import socket

from tinyweb.capture.crawler import CrawlOptions, crawl, crawl_id_for, read_seeds
from tinyweb.store import Store


def options(**kw) -> CrawlOptions:
    base = dict(max_pages=20, max_depth=1, delay_s=0.0, concurrency=2, page_timeout_s=3, block_external=True)
    base.update(kw)
    return CrawlOptions(**base)


def outcomes(store: Store, seeds: list[str], opts: CrawlOptions) -> dict[str, tuple[str, str | None]]:
    return {p.url.rsplit("/", 1)[-1]: (p.state, p.reason) for p in store.crawl_pages(crawl_id_for(seeds, opts))}


def test_crawl_scope_and_reasons(fixture_site, tmp_path):
    seed = fixture_site.url + "crawl/index.html"
    opts = options()
    with Store(tmp_path) as store:
        summary = crawl(store, [seed], opts)
        pages = outcomes(store, [seed], opts)
        assert pages["index.html"] == ("done", None)
        assert pages["a.html"] == ("done", None)
        assert pages["b.html"] == ("done", None), "fragments are dropped, one visit"
        assert pages["secret.html"] == ("skipped", "robots_txt")
        assert pages["download.bin"] == ("failed", "not_html")
        assert pages["missing.html"] == ("failed", "http_404")
        assert pages["slow"] == ("failed", "timeout")
        assert "picture.png" not in pages, "links to images are not pages"
        assert "elsewhere.html" not in pages, "same site only by default"
        assert "deep.html" not in pages, "beyond --max-depth 1"
        assert summary.captured == 3 and summary.duplicates == 0
        assert summary.failed == {"not_html": 1, "http_404": 1, "timeout": 1}
        assert summary.skipped == {"robots_txt": 1}
        assert {f.reason for f in store.failures()} == {"not_html", "http_404", "timeout"}
        titles = sorted(s.title for s in store.iter_snapshots())
        assert titles == ["Crawl home", "Page A", "Page B"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host(tmp_path):
    seeds = [f"http://127.0.0.1:{closed_port()}/nothing-listens-here.html"]
    with Store(tmp_path) as store:
        summary = crawl(store, seeds, options())
        assert summary.failed == {"unreachable": 1}
        assert store.failures()[0].reason == "unreachable"


def test_ignore_robots(fixture_site, tmp_path):
    seed = fixture_site.url + "private/secret.html"
    with Store(tmp_path) as store:
        assert crawl(store, [seed], options()).skipped == {"robots_txt": 1}
        assert crawl(store, [seed], options(respect_robots=False, max_depth=2)).captured == 1


def test_resume_continues_where_it_stopped(fixture_site, tmp_path):
    seed = fixture_site.url + "crawl/a.html"
    first = options(max_pages=1, max_depth=3, concurrency=1)
    with Store(tmp_path) as store:
        assert crawl(store, [seed], first).captured == 1
        second = options(max_pages=4, max_depth=3, concurrency=1)
        assert crawl_id_for([seed], first) == crawl_id_for([seed], second)
        summary = crawl(store, [seed], second)
        assert summary.captured == 3, "index, deep and deeper; a.html is not visited again"
        states = outcomes(store, [seed], second)
        assert {name for name, (state, _) in states.items() if state == "done"} == {
            "a.html",
            "index.html",
            "deep.html",
            "deeper.html",
        }
        assert states["b.html"] == ("queued", None), "left for a later run, past --max-pages"
        assert store.count() == 4


def test_max_per_domain(fixture_site, tmp_path):
    seed = fixture_site.url + "crawl/index.html"
    with Store(tmp_path) as store:
        summary = crawl(store, [seed], options(max_per_domain=2))
        assert summary.visited == 2
        assert summary.skipped["max_per_domain"] >= 1


def test_seed_file_reports_bad_lines(tmp_path):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# comment\nhttp://127.0.0.1:1/a\n\nnot a url\nftp://example.com/\nhttps://example.com/b\n")
    good, bad = read_seeds(seeds)
    assert good == ["http://127.0.0.1:1/a", "https://example.com/b"]
    assert [(b.line_no, b.line) for b in bad] == [(4, "not a url"), (5, "ftp://example.com/")]

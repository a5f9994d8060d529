from urllib.parse import urljoin

from tinyweb.urls import is_http_url, normalize_url, relative_link, same_site


def test_normalize_url():
    assert normalize_url("HTTPS://Example.com:443") == "https://example.com/"
    assert normalize_url("http://example.com:8080/a/./b/../c/?b=2&a=1#x") == "http://example.com:8080/a/c/?a=1&b=2"
    assert normalize_url("http://example.com/%7Euser/") == "http://example.com/~user/"
    assert normalize_url("http://example.com/a b") == "http://example.com/a%20b"


def test_same_site_and_http():
    assert same_site("http://www.example.com/a", "https://example.com/b")
    assert not same_site("http://example.com/", "http://example.org/")
    assert is_http_url("https://x.org/") and not is_http_url("mailto:a@b.c") and not is_http_url("http://")


def test_relative_link_resolves_back_to_the_same_url():
    page = "http://example.com/blog/dist/index.html"
    cases = {
        "http://example.com/blog/dist/index.html#!": "#!",
        "http://example.com/blog/dist/index.html": "index.html",
        "http://example.com/blog/dist/about.html?x=1#t": "about.html?x=1#t",
        "http://example.com/blog/dist/": "./",
        "http://example.com/blog/": "../",
        "http://example.com/other/page.html": "/other/page.html",  # shorter than ../../other/page.html
        "http://example.com/blog/dist/sub/p.html": "sub/p.html",
        "http://example.com/blog/dist/a:b.html": "./a:b.html",  # not a scheme
        "http://example.com/a//b.html": "http://example.com/a//b.html",  # relpath would fold the empty segment
        "http://example.com/a/./b.html": "http://example.com/a/./b.html",
        "http://example.com/blog/dist": "/blog/dist",  # not `.`, which would add a slash
        "http://example.com/blog": "/blog",  # not `..`
        "https://example.com/blog/dist/index.html": "https://example.com/blog/dist/index.html",  # another origin
        "http://cdn.example.com/x.html": "http://cdn.example.com/x.html",
        "mailto:someone@example.com": "mailto:someone@example.com",
        "javascript:void(0)": "javascript:void(0)",
    }
    for url, want in cases.items():
        got = relative_link(url, page)
        assert got == want, url
        assert urljoin(page, got) == url, url

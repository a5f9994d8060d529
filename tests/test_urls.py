from tinyweb.urls import is_http_url, normalize_url, same_site


def test_normalize_url():
    assert normalize_url("HTTPS://Example.com:443") == "https://example.com/"
    assert normalize_url("http://example.com:8080/a/./b/../c/?b=2&a=1#x") == "http://example.com:8080/a/c/?a=1&b=2"
    assert normalize_url("http://example.com/%7Euser/") == "http://example.com/~user/"
    assert normalize_url("http://example.com/a b") == "http://example.com/a%20b"


def test_same_site_and_http():
    assert same_site("http://www.example.com/a", "https://example.com/b")
    assert not same_site("http://example.com/", "http://example.org/")
    assert is_http_url("https://x.org/") and not is_http_url("mailto:a@b.c") and not is_http_url("http://")

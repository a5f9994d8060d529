"""URL normalisation shared by the snapshot id, the crawler's de-duplication and the store."""

from __future__ import annotations

import posixpath
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """Canonical form: lower-case scheme and host, no default port, no fragment, dot segments resolved,
    query parameters sorted, unreserved characters unescaped. Equal pages get equal strings."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    netloc = host
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = parts.path or "/"
    trailing = path.endswith("/")
    path = posixpath.normpath(path) if path not in ("", "/") else "/"
    if trailing and not path.endswith("/"):
        path += "/"
    path = quote(unquote(path), safe="/:@!$&'()*+,;=-._~%")
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((scheme, netloc, path, query, ""))


def same_site(a: str, b: str) -> bool:
    """Same host, ignoring a leading www."""

    def host(u: str) -> str:
        h = (urlsplit(u).hostname or "").lower()
        return h[4:] if h.startswith("www.") else h

    return host(a) == host(b)


def is_http_url(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)

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


def relative_link(url: str, page: str) -> str:
    """`url` as a link written on the page at `page`: relative when both are on one origin (the shorter of a
    path from the page's folder and one from the site's root; just `#fragment` within the page itself),
    else `url` unchanged. Resolving the result against `page` gives `url` back."""
    target, base = urlsplit(url.strip()), urlsplit(page.strip())
    same_origin = (target.scheme, target.netloc.lower()) == (base.scheme, base.netloc.lower())
    path = target.path or "/"
    if target.scheme not in DEFAULT_PORTS or not same_origin or not _plain_path(path) or not _plain_path(base.path):
        return url
    suffix = (f"?{target.query}" if target.query else "") + (f"#{target.fragment}" if target.fragment else "")
    same_page = path == (base.path or "/") and target.query == base.query
    if same_page and (target.fragment or url.strip().endswith("#")):
        return f"#{target.fragment}"
    folder = posixpath.dirname(base.path or "/")
    relative = posixpath.relpath(path, folder)
    if path.endswith("/") and not relative.endswith("/"):
        relative = "./" if relative == "." else relative + "/"
    elif relative.rsplit("/", 1)[-1] in (".", ".."):
        relative = path  # a folder named without its slash: `.` or `..` would add one
    if ":" in relative.split("/", 1)[0]:
        relative = "./" + relative  # `a:b.html` would read as a scheme
    return min(relative, path, key=len) + suffix


def _plain_path(path: str) -> bool:
    """No empty, `.` or `..` segment (`//x` would read as a host; relpath would resolve the others away)."""
    return "//" not in path and not {".", ".."} & set(path.split("/"))

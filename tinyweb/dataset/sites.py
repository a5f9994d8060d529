"""Which site each page is from, and the dataset's split by site: pages of one site share their template, so a
page of a site seen in training tells little about pages of sites the model never saw.

A site is the registrable domain of a page's host (tldextract's bundled public-suffix list, private domains
included: `alice.github.io` is a site of its own). Pages served from one local server (an IP address or a name
without a public suffix, such as `localhost`) are grouped by which of them link to each other: each group of
linked pages is a site, named after the folder all of its pages are in, except that a group whose subfolders
meet only through the pages above them (an index page linking several sites that link back to it) is a site per
subfolder, and one for the pages above. `pattern` overrides that: a regular
expression searched in each URL's path, whose first group (or whole match) names the page's site; a page it
does not match is grouped by links. For `../shared/corpus`, `^/sites/(?!design2code/)[^/]+/` gives each of
its template sites, and leaves each Design2Code page (no links) a site of its own.

The split: each site goes whole to one side. Within each topic (a site's topic is the one most of its pages
have), sites in the order of the SHA-256 of their name go to validation while the topic's validation pages stay
within its share (rounded, at least one); when every site is larger than that, the smallest goes if it holds at
most half the topic's pages. One site of each topic always stays in training, and a topic with fewer than three
pages or one site stays there whole. If that leaves validation empty, the first site of the largest topic with
two sites goes there.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from collections import Counter
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import html as lxml_html

from tinyweb.errors import UsageError

MIN_TOPIC_FOR_VALIDATION = 3  # pages: a topic with fewer keeps them all for training


@functools.cache
def _extract() -> Any:
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def registrable(url: str) -> str:
    """The registrable domain of `url`'s host, or "" for an address or a name with no public suffix."""
    parts = _extract()(url)
    return parts.top_domain_under_public_suffix if parts.suffix and parts.domain else ""


def _key(url: str) -> str:
    """A URL as a link target: without its fragment, `dir/` and `dir/index.html` alike."""
    url = urldefrag(url)[0]
    return url[: -len("index.html")] if url.endswith("/index.html") else url


def links(html: str, base: str) -> set[str]:
    """The link targets of a page (resolved against its `<base href>`, else its URL)."""
    try:
        root = lxml_html.document_fromstring(html)
    except ValueError:  # an empty or unparsable page links nowhere
        return set()
    found = root.find(".//base[@href]")
    base = urljoin(base, found.get("href")) if found is not None else base
    return {_key(urljoin(base, a.get("href"))) for a in root.iter("a") if a.get("href")}


def sites(pages: list[dict[str, Any]], pattern: str | None = None) -> dict[str, str]:
    """id → site for pages with `id`, `url` and `html` (see the module docstring)."""
    try:
        matcher = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise UsageError(f"--site-pattern is not a regular expression: {exc}") from None
    out: dict[str, str] = {}
    local: list[dict[str, Any]] = []
    for page in pages:
        parts = urlsplit(page["url"])
        found = matcher.search(parts.path) if matcher else None
        if found:
            out[page["id"]] = f"{parts.netloc}{found.group(1) if found.groups() else found.group(0)}"
        elif registrable(page["url"]):
            out[page["id"]] = registrable(page["url"])
        else:
            local.append(page)
    out.update(_linked(local))
    return out


def _linked(pages: list[dict[str, Any]]) -> dict[str, str]:
    """Pages grouped by links between them, each group named after the host and the folder holding it."""
    by_url = {_key(p["url"]): p["id"] for p in pages}
    edges = {p["id"]: set() for p in pages}
    for page in pages:
        for target in links(page.get("html") or "", page["url"]):
            other = by_url.get(target)
            if other is not None and other != page["id"]:
                edges[page["id"]].add(other)
                edges[other].add(page["id"])
    parts = {p["id"]: urlsplit(p["url"]) for p in pages}
    folder = {i: posixpath.dirname(u.path) + "/" for i, u in parts.items()}
    out = {}
    for group in _components(set(edges), edges):
        for members in _by_subfolder(group, edges, folder):
            prefix = _common_folder([folder[i] for i in members])
            for page_id in members:  # a page alone is a site of its own, even beside others in its folder
                out[page_id] = parts[page_id].netloc + (prefix if len(members) > 1 else parts[page_id].path)
    return out


def _components(ids: set[str], edges: dict[str, set[str]]) -> list[set[str]]:
    """The connected groups of `ids` by `edges` (links either way), in a stable order."""
    seen: set[str] = set()
    groups = []
    for start in sorted(ids):
        if start in seen:
            continue
        group, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node in group:
                continue
            group.add(node)
            todo.extend(n for n in edges[node] if n in ids and n not in group)
        seen |= group
        groups.append(group)
    return groups


def _common_folder(folders: list[str]) -> str:
    common = posixpath.commonpath(folders)
    return common.rstrip("/") + "/"


def _by_subfolder(group: set[str], edges: dict[str, set[str]], folder: dict[str, str]) -> list[set[str]]:
    """A linked group as sites: when the pages of two or more of its subfolders link among themselves but not to
    one another (they meet only on pages of the folder above, such as an index of several sites), each
    subfolder is a site, and the pages above are one; otherwise the group is one site."""
    prefix = _common_folder([folder[i] for i in group])
    below: dict[str, set[str]] = {}
    for page_id in group:
        rest = folder[page_id][len(prefix) :]
        below.setdefault(rest.split("/")[0] if rest else "", set()).add(page_id)
    subfolders = {name: ids for name, ids in below.items() if name}
    if len(subfolders) < 2:
        return [group]
    for ids in subfolders.values():
        others = group - ids - below.get("", set())
        if any(edges[i] & others for i in ids):
            return [group]  # subfolders link to each other: one site
    parts = [below[""]] if "" in below else []
    for name in sorted(subfolders):
        for part in _components(subfolders[name], edges):
            parts.extend(_by_subfolder(part, edges, folder))
    return parts


def _rank(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def split_by_site(page_site: dict[str, str], page_topic: dict[str, str], share: float) -> dict[str, str]:
    """page id → "train" or "validation", every site whole on one side (see the module docstring)."""
    site_pages: dict[str, list[str]] = {}
    for page_id, site in page_site.items():
        site_pages.setdefault(site, []).append(page_id)
    by_topic: dict[str, list[str]] = {}
    for site, ids in site_pages.items():
        topics = Counter(page_topic.get(i, "general") for i in ids)
        topic = min(topics, key=lambda t: (-topics[t], t))
        by_topic.setdefault(topic, []).append(site)
    validation: set[str] = set()
    if share > 0:
        for names in by_topic.values():
            pages = sum(len(site_pages[s]) for s in names)
            if pages < MIN_TOPIC_FOR_VALIDATION or len(names) < 2:
                continue
            target, held = max(1, round(share * pages)), 0
            ranked = sorted(names, key=_rank)
            for name in ranked[:-1]:  # the last stays in training, whatever the sizes
                if held + len(site_pages[name]) <= target:
                    validation.add(name)
                    held += len(site_pages[name])
            smallest = min(ranked, key=lambda s: len(site_pages[s]))
            if not held and len(site_pages[smallest]) <= pages // 2:  # every site over the share: the smallest
                validation.add(smallest)
        if not validation:
            several = [names for names in by_topic.values() if len(names) >= 2]
            if several:
                largest = max(several, key=lambda names: sum(len(site_pages[s]) for s in names))
                validation.add(sorted(largest, key=_rank)[0])
            elif len(by_topic) >= 2:  # one site per topic: the smallest topic's site validates
                smallest = min(by_topic.values(), key=lambda names: (len(site_pages[names[0]]), names[0]))
                validation.add(smallest[0])
    return {i: "validation" if s in validation else "train" for i, s in page_site.items()}

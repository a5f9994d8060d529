"""Images as one placeholder: what a page shows in place of the pictures it was captured with.

A model trained on corpus pages would otherwise learn (and write) the addresses its pages were served from —
`http://127.0.0.1:8731/sites/…/hero.jpg` — which mean nothing anywhere else, and the images they name cannot
be shipped. `placeholder_images` points every image of a page at PLACEHOLDER (a neutral picture shipped in the
package, written beside every generated page): `src`, `srcset`, `poster`, SVG `href`, and CSS `url()` in any
attribute and in `<style>` elements (data URLs aside; a reference into the page itself, such as an SVG
clip-path the capture resolved to `url(PAGE#clip)`, becomes the bare `url("#clip")`); it drops the page's own
`@font-face` rules (their fonts are the site's) and turns links to the page's own server into `#`.
Everything else stays.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html

PLACEHOLDER = "placeholder.svg"  # the file name pages point at, beside the page
PLACEHOLDER_FILE = Path(__file__).parent / "data" / PLACEHOLDER
CSS_URL = re.compile(r"""url\(\s*(['"]?)(?!data:)([^'")]*)\1\s*\)""", re.IGNORECASE)
FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
IMAGE_ATTRS = {"img": ("src",), "source": ("src",), "video": ("poster",), "input": ("src",), "image": ("href",)}
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def _css(text: str, page_url: str = "") -> str:
    """Every url() the placeholder, but a reference into the page itself (`url(PAGE#clip)`, as the capture
    resolves an SVG clip-path) the bare fragment it is; no @font-face rule."""
    page = page_url.split("#")[0]

    def swap(match: re.Match[str]) -> str:
        target = match.group(2).strip()
        if target.startswith("#") or (page and target.startswith(page + "#")):
            return f'url("#{target.split("#", 1)[1]}")'
        return f'url("{PLACEHOLDER}")'

    return CSS_URL.sub(swap, FONT_FACE.sub("", text))


def _own_server(href: str, hosts: set[str]) -> bool:
    parts = urlsplit(href)
    return parts.scheme in ("http", "https") and parts.netloc in hosts


def placeholder_images(document: str, page_url: str = "") -> str:
    """The document with its images pointed at PLACEHOLDER (see the module docstring); a fragment stays one."""
    if not document.strip():
        return document
    whole = bool(re.match(r"\s*(<!doctype|<html)", document, re.IGNORECASE))
    try:
        root = (
            lxml_html.document_fromstring(document)
            if whole
            else lxml_html.fragment_fromstring(document, create_parent="div")
        )
    except (etree.ParserError, ValueError):
        return document
    hosts = {urlsplit(page_url).netloc} - {""}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.split("}")[-1].lower()
        for attr in IMAGE_ATTRS.get(tag, ()):
            if el.get(attr) and not el.get(attr, "").startswith("data:"):
                el.set(attr, PLACEHOLDER)
        if el.get(XLINK_HREF) and tag == "image":
            el.set(XLINK_HREF, PLACEHOLDER)
        if el.get("srcset"):
            el.set("srcset", PLACEHOLDER)
        for attr, value in el.attrib.items():  # style, and SVG's clip-path, mask, fill, filter, marker-…
            if "url(" in value.lower():
                el.set(attr, _css(value, page_url))
        if tag == "style" and el.text:
            el.text = _css(el.text, page_url)
        if tag == "a" and _own_server(el.get("href", ""), hosts):
            el.set("href", "#")
    if whole:
        prefix = document[: document.lower().find("<html")] if "<html" in document.lower() else ""
        return prefix + lxml_html.tostring(root, encoding="unicode")
    return (root.text or "") + "".join(lxml_html.tostring(c, encoding="unicode", with_tail=True) for c in root)


def framework_without_site_files(css: str) -> str:
    """A framework stylesheet for a shipped run: no @font-face rules, every url() the placeholder."""
    return _css(css)

"""Reading a cleaned page: its doctype and each element's styles (inline style, pseudo-element rules and
per-width rules), in document order. The framework stage counts these; convert rewrites the same elements;
the lossless proof compares them with what the written framework gives.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import tinycss2
from lxml import html

from tinyweb.capture.responsive import MEDIA_STYLE_ATTR, media_rules
from tinyweb.compress.css import Style, parse_declarations
from tinyweb.compress.roles import assign_roles
from tinyweb.compress.stylesheet import media_kind

# A pseudo-element rule of a cleaned page: `[data-tw="k3"]::before`, keyed by the capture's own attribute.
PSEUDO_RULE = re.compile(r'^\[data-tw="([0-9a-z]+)"\](::?[a-z-]+)$')


def page_doctype(document: str, root: html.HtmlElement) -> str | None:
    """The document's own doctype, kept as captured: it sets the rendering mode (none, or a legacy one without
    its system identifier, means quirks mode), and `<!DOCTYPE html>` on a quirks page changes its layout.
    None when the document has none (lxml would otherwise invent one)."""
    if not re.match(r"\s*<!doctype", document, re.IGNORECASE):
        return None
    return root.getroottree().docinfo.doctype or None


# Elements of <head> carry no style; every other element is walked, in document order.
UNSTYLED_TAGS = ("head", "title", "meta", "base", "style", "link")


def element_styles(
    root: html.HtmlElement, with_roles: bool = True
) -> tuple[list[tuple[html.HtmlElement, dict[str, Any]]], list[str]]:
    """Each element of a parsed cleaned page in document order with its {role, style, pseudo, media}, and the
    page's @font-face rules. `style` and each pseudo and media style are lists of [property, value] in
    canonical order; `media` pairs a media kind (media_kind()) with the element's changes at that width."""
    faces: list[str] = []
    pseudo: dict[str, list[tuple[str, Style]]] = defaultdict(list)
    media: dict[str, list[tuple[str, Style]]] = defaultdict(list)
    for style_el in root.iter("style"):
        if style_el.get(MEDIA_STYLE_ATTR) is not None:
            for query, items in media_rules(style_el.text or ""):
                for key, selector, decls in items:
                    media[key].append((media_kind(query, selector), tuple(sorted(decls.items()))))
            continue
        for rule in tinycss2.parse_stylesheet(style_el.text or "", skip_comments=True, skip_whitespace=True):
            if rule.type == "at-rule":
                faces.append(tinycss2.serialize([rule]).strip())
            elif rule.type == "qualified-rule":
                match = PSEUDO_RULE.match(tinycss2.serialize(rule.prelude).strip())
                if match:
                    decls = parse_declarations(tinycss2.serialize(rule.content))
                    pseudo[match.group(1)].append((match.group(2), tuple(sorted(decls.items()))))
    roles = assign_roles(root) if with_roles else {}
    elements = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in UNSTYLED_TAGS:
            continue
        style = tuple(sorted(parse_declarations(el.get("style") or "").items()))
        key = el.get("data-tw")
        rules = pseudo.get(key, []) if key else []
        widths = media.get(key, []) if key else []
        info = {
            "role": roles.get(el, "box"),
            "style": [list(d) for d in style],
            "pseudo": [[sel, [list(d) for d in s]] for sel, s in rules],
            "media": [[kind, [list(d) for d in s]] for kind, s in widths],
        }
        elements.append((el, info))
    return elements, faces


def page_styles(document: str) -> tuple[list[dict[str, Any]], list[str]]:
    """element_styles of a cleaned page's HTML, without the elements themselves."""
    elements, faces = element_styles(html.document_fromstring(document))
    return [info for _, info in elements], faces


def _extract_item(item: str) -> str:
    page = json.loads(item)
    elements, faces = page_styles(page["html"])
    return json.dumps({"id": page["id"], "elements": elements, "faces": faces})


def extract_pages(pages: list[dict[str, Any]], num_proc: int | None = None, desc: str = "framework") -> list[dict]:
    """Every clean page's styled elements and @font-face rules ({id, elements, faces}; page_styles), in
    order of id, on every core."""
    from tinyweb.parallel import parallel_map

    items = [json.dumps({"id": p["id"], "html": p["html"]}) for p in sorted(pages, key=lambda p: p["id"])]
    return [json.loads(r) for r in parallel_map(_extract_item, items, num_proc, desc)]

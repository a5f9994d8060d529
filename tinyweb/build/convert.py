"""Stage 4, convert: rewrite every cleaned page to use the framework's classes.

Each page becomes `OUT/pages/<id>.html`: a complete document linking `../semantic-css-framework.css`, every
element carrying its classes and, rarely, a residual inline style. The conversion checks itself: for every
element, the declarations of its classes plus its residual style must be exactly its own declarations
(and its pseudo-element rules exactly its own), or the page is reported as not lossless.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree, html

from tinyweb.build.clean import page_doctype
from tinyweb.build.css import parse_declarations, style_text
from tinyweb.build.framework import Framework, element_styles

FRAMEWORK_HREF = "../semantic-css-framework.css"


@dataclass
class ConvertedPage:
    id: str
    html: str
    elements: int  # styled elements
    classes: int  # class names written
    residual_elements: int  # elements that keep an inline style
    residual_declarations: int
    declarations: int
    mismatches: list[str] = field(default_factory=list)  # lossless violations, described

    @property
    def lossless(self) -> bool:
        return not self.mismatches


def convert_page(
    page: dict[str, Any], fw: Framework, own_faces: list[str], class_styles: dict[str, Any]
) -> ConvertedPage:
    root = html.document_fromstring(page["html"])
    styled, _faces = element_styles(root)  # reads the style block before the head is rewritten below
    head = root.find("head")
    if head is None:
        head = etree.Element("head")
        root.insert(0, head)
    for el in list(head):
        if el.tag in ("base", "style", "link"):
            head.remove(el)  # the pseudo-element and @media rules are framework classes now
    link = etree.SubElement(head, "link", rel="stylesheet", href=FRAMEWORK_HREF)
    if own_faces:
        own = etree.Element("style")
        own.text = "\n".join(own_faces)
        link.addnext(own)
    result = ConvertedPage(
        id=page["id"], html="", elements=0, classes=0, residual_elements=0, residual_declarations=0, declarations=0
    )
    for i, (el, info) in enumerate(styled):
        style = tuple(tuple(d) for d in info["style"])
        pseudo = [(sel, tuple(tuple(d) for d in ps)) for sel, ps in info["pseudo"]]
        media = [(kind, tuple(tuple(d) for d in ms)) for kind, ms in info["media"]]
        el.attrib.pop("style", None)
        el.attrib.pop("data-tw", None)
        el.attrib.pop("class", None)  # only SVG kept one, and without the page's stylesheets it did nothing
        if not style and not pseudo and not media:
            continue
        names, residual = fw.assign(style, pseudo, media)
        result.elements += 1
        result.classes += len(names)
        result.declarations += len(style)
        if names:
            el.set("class", " ".join(names))
        if residual:
            el.set("style", style_text(residual))
            result.residual_elements += 1
            result.residual_declarations += len(residual)
        # The proof: the element's declarations are exactly the union of its classes' and its residual's.
        got: dict[str, str] = dict(residual)
        got_pseudo = []
        got_media = []
        for name in names:
            kind, decls = class_styles[name]
            if kind.startswith("::"):
                got_pseudo.append((kind, decls))
                continue
            if kind.startswith("@"):
                got_media.append((kind, decls))
                continue
            overlap = set(got) & set(decls)
            if overlap:
                result.mismatches.append(f"element {i} <{el.tag}>: {sorted(overlap)} set twice")
            got.update(decls)
        if got != dict(style):
            result.mismatches.append(f"element {i} <{el.tag}>: declarations differ")
        want_pseudo = sorted((sel, tuple(sorted(ps))) for sel, ps in pseudo)
        if sorted((sel, tuple(sorted(d.items()))) for sel, d in got_pseudo) != want_pseudo:
            result.mismatches.append(f"element {i} <{el.tag}>: pseudo-element rules differ")
        # At every other width: exactly the element's own changes there (one media class per width).
        want_media = sorted((kind, tuple(sorted(ms))) for kind, ms in media)
        if sorted((kind, tuple(sorted(d.items()))) for kind, d in got_media) != want_media:
            result.mismatches.append(f"element {i} <{el.tag}>: per-width rules differ")
    result.html = html.tostring(root, encoding="unicode", doctype=page_doctype(page["html"], root))
    return result


def class_styles(fw: Framework) -> dict[str, tuple[str, dict[str, str]]]:
    """Each class's declarations, parsed back from the text the framework writes."""
    return {c.name: (c.kind, parse_declarations(c.style)) for c in fw.classes}


def _convert_item(item: str, fw: Framework, styles: dict[str, Any]) -> str:
    data = json.loads(item)
    page = convert_page(data["page"], fw, data["own_faces"], styles)
    return json.dumps(asdict(page))


def convert(
    pages: list[dict[str, Any]], fw: Framework, page_faces: dict[str, list[str]], num_proc: int | None = None
) -> list[ConvertedPage]:
    """The convert stage's entry point: clean pages and the framework in, semantic pages out."""
    import functools

    from tinyweb.build.parallel import parallel_map

    styles = class_styles(fw)
    items = [
        json.dumps({"page": {"id": p["id"], "html": p["html"]}, "own_faces": page_faces.get(p["id"], [])})
        for p in sorted(pages, key=lambda p: p["id"])
    ]
    results = parallel_map(functools.partial(_convert_item, fw=fw, styles=styles), items, num_proc, "convert")
    return [ConvertedPage(**json.loads(r)) for r in results]

"""Stage 4, convert: rewrite every cleaned page to use the framework's classes.

Each page becomes `OUT/pages/<id>.html`: a complete document linking `../semantic-css-framework.css`, every
element carrying its classes and, rarely, a residual inline style. Whether that is lossless is not for
convert to say: tinyweb.compress.proof checks the written pages against the written stylesheet.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from lxml import etree, html

from tinyweb.compress.css import style_text
from tinyweb.compress.styles import element_styles, page_doctype
from tinyweb.compress.stylesheet import Framework
from tinyweb.layout import FRAMEWORK_HREF


@dataclass
class ConvertedPage:
    id: str
    html: str
    elements: int  # styled elements
    classes: int  # class names written
    residual_elements: int  # elements that keep an inline style
    residual_declarations: int
    declarations: int


def convert_page(page: dict[str, Any], fw: Framework, own_faces: list[str]) -> ConvertedPage:
    """One cleaned page rewritten to use the framework's classes."""
    root = html.document_fromstring(page["html"])
    styled, _faces = element_styles(root, with_roles=False)  # reads the style blocks before the head is rewritten
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
    for el, info in styled:
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
    result.html = html.tostring(root, encoding="unicode", doctype=page_doctype(page["html"], root))
    return result


def _convert_item(item: str, fw: Framework) -> str:
    data = json.loads(item)
    page = convert_page(data["page"], fw, data["own_faces"])
    return json.dumps(asdict(page))


def convert(
    pages: list[dict[str, Any]], fw: Framework, page_faces: dict[str, list[str]], num_proc: int | None = None
) -> list[ConvertedPage]:
    """The convert stage's entry point: clean pages and the framework in, semantic pages out."""
    import functools

    from tinyweb.parallel import parallel_map

    items = [
        json.dumps({"page": {"id": p["id"], "html": p["html"]}, "own_faces": page_faces.get(p["id"], [])})
        for p in sorted(pages, key=lambda p: p["id"])
    ]
    results = parallel_map(functools.partial(_convert_item, fw=fw), items, num_proc, "convert")
    return [ConvertedPage(**json.loads(r)) for r in results]

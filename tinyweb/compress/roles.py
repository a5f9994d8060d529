"""What an element is for, from its tag, its landmark ancestors and its place on the page: `nav-link`,
`hero-title`, `card-text`, `footer`, ... The framework names its classes after the roles of the elements
that use them."""

from __future__ import annotations

from lxml import html

from tinyweb.compress.css import CSSError, parse_declarations

# kind of element by tag
KINDS = {
    **{f"h{i}": "title" for i in range(1, 7)},
    "p": "text",
    "a": "link",
    "button": "button",
    "label": "label",
    "select": "input",
    "textarea": "input",
    "input": "input",
    "option": "option",
    "ul": "list",
    "ol": "list",
    "dl": "list",
    "menu": "list",
    "li": "item",
    "dt": "item",
    "dd": "item",
    "img": "image",
    "picture": "image",
    "svg": "icon",
    "video": "media",
    "audio": "media",
    "canvas": "image",
    "iframe": "media",
    "figure": "figure",
    "figcaption": "caption",
    "table": "table",
    "thead": "table",
    "tbody": "table",
    "tfoot": "table",
    "tr": "row",
    "td": "cell",
    "th": "cell",
    "caption": "caption",
    "pre": "code",
    "code": "code",
    "kbd": "code",
    "samp": "code",
    "blockquote": "quote",
    "q": "quote",
    "cite": "quote",
    "hr": "rule",
    "br": "break",
    "span": "inline",
    "strong": "strong",
    "b": "strong",
    "em": "em",
    "i": "em",
    "small": "small",
    "mark": "inline",
    "sup": "inline",
    "sub": "inline",
    "abbr": "inline",
    "time": "inline",
    "address": "text",
    "form": "form",
    "fieldset": "form",
    "legend": "label",
    "progress": "meter",
    "meter": "meter",
    "details": "box",
    "summary": "label",
    "html": "page",
    "body": "body",
    "main": "main",
    "section": "section",
    "article": "card",
    "aside": "sidebar",
    "header": "header",
    "footer": "footer",
    "nav": "nav",
    "div": "box",
}
SVG_PARTS = {
    "path",
    "circle",
    "rect",
    "g",
    "line",
    "polyline",
    "polygon",
    "ellipse",
    "use",
    "symbol",
    "text",
    "tspan",
    "defs",
    "lineargradient",
    "radialgradient",
    "stop",
    "clippath",
    "mask",
    "title",
}
BUTTON_TYPES = {"submit", "button", "reset"}
# Landmarks, innermost first wins.
REGION_TAGS = {
    "nav": "nav",
    "header": "header",
    "footer": "footer",
    "aside": "sidebar",
    "form": "form",
    "table": "table",
    "figure": "figure",
    "pre": "code",
}
REGION_ROLES = {
    "navigation": "nav",
    "banner": "header",
    "contentinfo": "footer",
    "complementary": "sidebar",
    "search": "form",
    "dialog": "dialog",
    "menu": "nav",
    "menubar": "nav",
    "tablist": "nav",
}
CARD_HINTS = ("box-shadow", "border", "border-radius", "border-top", "border-bottom")


def kind_of(el: html.HtmlElement) -> str:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag in SVG_PARTS:
        return "icon"
    if tag == "input" and el.get("type", "").lower() in BUTTON_TYPES:
        return "button"
    if tag == "a" and el.get("role") == "button":
        return "button"
    return KINDS.get(tag, "box")


def _style_props(el: html.HtmlElement) -> set[str]:
    try:
        return set(parse_declarations(el.get("style") or ""))
    except CSSError:
        return set()


def _is_card(el: html.HtmlElement) -> bool:
    """A box that draws its own frame around a heading: a card."""
    if el.tag not in ("div", "article", "section", "li"):
        return False
    props = _style_props(el)
    if not any(h in props for h in CARD_HINTS):
        return False
    return next(el.iter("h2", "h3", "h4", "h5", "h6"), None) is not None


def hero_of(body: html.HtmlElement) -> html.HtmlElement | None:
    """The block that holds the page's first h1, when it sits near the top of the page (a child of body or
    main, not in nav or footer)."""
    h1 = next(body.iter("h1"), None)
    if h1 is None:
        return None
    node = h1
    while node.getparent() is not None and node.getparent() is not body and node.getparent().tag != "main":
        node = node.getparent()
    if node.tag in ("nav", "footer", "aside", "h1"):
        return None
    return node


def assign_roles(root: html.HtmlElement) -> dict[html.HtmlElement, str]:
    """Role of every element of the document, in one pass from the top."""
    roles: dict[html.HtmlElement, str] = {}
    body = root.find("body")
    hero = hero_of(body) if body is not None else None

    def visit(el: html.HtmlElement, region: str) -> None:
        if not isinstance(el.tag, str):
            return
        tag = el.tag.lower()
        own_region = REGION_ROLES.get((el.get("role") or "").lower()) or REGION_TAGS.get(tag)
        if el is hero and own_region is None:
            own_region = "hero"
        elif own_region is None and _is_card(el):
            own_region = "card"
        kind = kind_of(el)
        if own_region:
            role = (
                own_region
                if kind
                in (
                    "box",
                    own_region,
                    "section",
                    "header",
                    "footer",
                    "nav",
                    "sidebar",
                    "form",
                    "card",
                    "table",
                    "figure",
                    "code",
                )
                else f"{own_region}-{kind}"
            )
        elif region and kind not in ("page", "body", "main"):
            role = f"{region}-{kind}" if kind != region else region
        else:
            role = kind
        roles[el] = role
        inner = own_region or region
        if kind == "icon":
            inner = "icon"
        for child in el:
            visit(child, inner)

    visit(root, "")
    return roles

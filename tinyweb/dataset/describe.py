"""What a section is and holds, in the words a person would use, read from its structure and text.

"a navigation bar with the name "Instant" and 4 links on a dark background", "a hero with the headline
"Find your balance", a paragraph and 2 buttons on a photo", "3 cards in a row, each with an image, a heading
and a paragraph", "a footer with 3 columns of links and a copyright line". Deterministic and extractive: the
kind comes from the section's landmark tags and roles, the role words of its framework classes (`…-hero-…`,
`…-card-…`) and its content (a form's fields, a table, prices, a run of alike blocks); the parts are counted; the
background is the nearest one painted on the section or its chain.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from lxml.etree import _Element

from tinyweb.colour import relative_luminance

Style = Callable[[_Element], dict[str, str]]

HEADLINE_WORDS = 8
CARD_KINDS = {"section", "pricing section", "gallery", "list", "services section", "features section",
              "team section", "testimonials section", "news section"}  # fmt: skip
CARD_NOUNS = {"pricing section": "pricing cards", "gallery": "pictures", "team section": "people",
              "testimonials section": "quotes", "news section": "posts"}  # fmt: skip
PRICE = re.compile(r"(?:[$€£¥]\s?\d|\d\s?(?:[$€£]|usd|eur)\b|/\s?(?:mo|month|year|yr)\b)", re.I)
COPYRIGHT = re.compile(r"©|&copy;|\bcopyright\b|all rights reserved", re.I)
KIND_WORDS = ("nav", "hero", "footer", "header", "card", "sidebar", "form", "table", "pricing", "gallery")
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
NUMBERS = {2: "2", 3: "3", 4: "4", 5: "5", 6: "6"}


def _words(el: _Element) -> str:
    return " ".join(" ".join(el.itertext()).split())


def _headline(els: list[_Element]) -> str:
    for tag in HEADINGS:
        for el in els:
            for h in el.iter(tag):
                text = _words(h)
                if re.search(r"[^\W\d_]{2}", text):
                    words = text.split()
                    short = " ".join(words[:HEADLINE_WORDS]) + ("…" if len(words) > HEADLINE_WORDS else "")
                    return short.strip(" .:;,")
    return ""


def _class_kinds(els: list[_Element]) -> Counter[str]:
    """Role words in the framework class names of the section's outer elements (roots and their children)."""
    found: Counter[str] = Counter()
    for root in els:
        for el in [root, *[c for c in root if isinstance(c.tag, str)]]:
            for name in (el.get("class") or "").split():
                for word in KIND_WORDS:
                    if f"-{word}" in name:
                        found[word] += 1
    return found


def _alike_run(els: list[_Element]) -> tuple[int, _Element | None]:
    """The longest run of alike siblings (same tag and classes) that each hold words or an image."""
    best: tuple[int, _Element | None] = (0, None)
    for root in els:
        for parent in root.iter():
            kids = [c for c in parent if isinstance(c.tag, str)]
            groups = Counter((str(c.tag), c.get("class") or "") for c in kids)
            for (tag, cls), n in groups.items():
                if n < 2 or tag in ("li", "a", "span", "p", "option", "br", "tr", "td", "th", "path", "i"):
                    continue
                first = next(c for c in kids if str(c.tag) == tag and (c.get("class") or "") == cls)
                if (_words(first) or first.find(".//img") is not None) and n > best[0]:
                    best = (n, first)
    return best


def _count(els: list[_Element], *tags: str) -> int:
    return sum(1 for root in els for el in root.iter(*tags))


def _buttons(els: list[_Element], style: Style) -> int:
    """Buttons, and links drawn as buttons (padded, with a background or a border)."""
    n = 0
    for root in els:
        for el in root.iter("button", "a", "input"):
            cls = el.get("class") or ""
            submit = el.tag == "input" and (el.get("type") or "").lower() in ("submit", "button")
            decls = style(el) if el.tag == "a" else {}
            padded = any(p.startswith("padding") for p in decls)
            drawn = any(p.startswith(("background", "border")) and "none" not in v for p, v in decls.items())
            if el.tag == "button" or el.get("role") == "button" or "-button" in cls or submit or (padded and drawn):
                n += 1
    return n


def _luminance(color: str) -> float | None:
    import tinycss2.color3

    parsed = tinycss2.color3.parse_color(color)
    if parsed is None or not hasattr(parsed, "red") or parsed.alpha < 0.5:
        return None
    return relative_luminance((parsed.red, parsed.green, parsed.blue))


def background(els: list[_Element], chain: list[_Element], style: Style) -> str:
    """ "a photo", "a dark background", "a coloured background", or "" (white or nothing painted)."""
    for el in [*els, *reversed(chain)]:
        decls = style(el)
        image = decls.get("background-image", "") + decls.get("background", "")
        if "url(" in image:
            return "a photo"
        if "gradient(" in image:
            return "a gradient"
        colour = decls.get("background-color") or (decls.get("background", "").split() or [""])[0]
        luminance = _luminance(colour) if colour else None
        if luminance is None:
            continue
        if luminance < 0.18:
            return "a dark background"
        if luminance < 0.8:
            return "a coloured background"
        return ""
    return ""


TOPICS = [  # what a section's heading says it is, in the words a person would use
    (re.compile(r"\bservices?\b|\bwhat we (do|offer)\b", re.I), "services section"),
    (re.compile(r"\btestimonials?\b|\b(clients?|customers?) says?\b|\breviews\b", re.I), "testimonials section"),
    (re.compile(r"\b(our )?team\b|\bmeet (the|our)\b|\bour people\b", re.I), "team section"),
    (re.compile(r"\babout\b|\bwho we are\b|\bour story\b", re.I), "about section"),
    (re.compile(r"\bfeatures?\b|\bwhy (choose|us)\b", re.I), "features section"),
    (re.compile(r"\bpricing\b|\bprices\b|\bplans\b", re.I), "pricing section"),
    (re.compile(r"\bfaqs?\b|\bfrequently asked\b|\bquestions\b", re.I), "FAQ section"),
    (re.compile(r"\bgallery\b|\bportfolio\b|\bour work\b|\bprojects\b", re.I), "gallery"),
    (re.compile(r"\bcontact\b|\bget in touch\b|\breach us\b", re.I), "contact section"),
    (re.compile(r"\bblog\b|\bnews\b|\blatest posts\b|\barticles\b", re.I), "news section"),
    (re.compile(r"\bschedule\b|\btimetable\b|\bevents\b|\bagenda\b", re.I), "schedule section"),
    (re.compile(r"\bmenu\b", re.I), "menu section"),
]


def _topic(headline: str) -> str | None:
    return next((kind for pattern, kind in TOPICS if pattern.search(headline)), None) if headline else None


def kind_of(els: list[_Element], chain: list[_Element], position: int, total: int) -> str:
    tags = {str(el.tag) for el in els} | {str(a.tag) for a in chain[-1:]}
    roles = {el.get("role") or "" for el in els}
    words = _class_kinds(els)
    text = " ".join(_words(el) for el in els)
    if "footer" in tags or "contentinfo" in roles or (position == total - 1 and COPYRIGHT.search(text)):
        return "footer"
    if "nav" in tags or "navigation" in roles or (words["nav"] and words["nav"] >= max(words.values())):
        return "navigation bar"
    topic = _topic(_headline(els)) if not (position == 0 and _count(els, "h1")) else None
    if _count(els, "input", "select", "textarea") >= 2 or "form" in tags:
        return "contact form" if topic == "contact section" else "form"
    if _count(els, "table"):
        return "table"
    if len(PRICE.findall(text)) >= 2 or topic == "pricing section":
        return "pricing section"
    if topic:
        return topic
    if words["hero"] or (position <= 2 and _count(els, "h1") and len(text.split()) < 120):
        return "hero"
    if "header" in tags or "banner" in roles:
        return "header"
    if "aside" in tags or words["sidebar"]:
        return "sidebar"
    if _count(els, "img") >= 4 and len(text.split()) < 12 * _count(els, "img"):
        return "gallery"
    if _count(els, "pre"):
        return "code sample"
    if _count(els, "li") >= 5 and _count(els, "p") <= 1:
        return "list"
    return "section"


def _parts(els: list[_Element], kind: str, style: Style) -> list[str]:
    parts = []
    paragraphs, buttons, images = _count(els, "p"), _buttons(els, style), _count(els, "img")
    links = _count(els, "a") - buttons
    inputs = _count(els, "input", "select", "textarea")
    if kind in ("navigation bar", "footer") and links:
        parts.append(_plural(links, "link"))
    if kind in ("form", "contact form") and inputs:
        parts.append(_plural(inputs, "field"))
    if paragraphs and kind not in ("navigation bar",):
        parts.append("a paragraph" if paragraphs == 1 else "a short text" if paragraphs == 2 else "paragraphs")
    if images and kind not in ("gallery",):
        parts.append("an image" if images == 1 else _plural(images, "image"))
    if buttons:
        parts.append("a button" if buttons == 1 else _plural(buttons, "button"))
    if kind == "footer" and COPYRIGHT.search(" ".join(_words(el) for el in els)):
        parts.append("a copyright line")
    return parts


def _plural(n: int, noun: str) -> str:
    return f"{NUMBERS.get(n, str(n))} {noun}s" if n != 1 else f"a {noun}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _an(phrase: str) -> str:
    return ("an " if re.match(r"[aeiou]", phrase) else "a ") + phrase


def _overlaid_nav(els: list[_Element], style: Style) -> tuple[_Element | None, list[_Element]]:
    """A navigation bar drawn over the block after it (positioned), and the rest."""
    if len(els) < 2:
        return None, els
    first = els[0]
    is_nav = str(first.tag) == "nav" or first.get("role") == "navigation"
    if is_nav and style(first).get("position") in ("absolute", "fixed"):
        return first, els[1:]
    return None, els


def describe(els: list[_Element], chain: list[_Element], style: Style, position: int, total: int) -> str:
    """The label of a section of `total` whose roots are `els` under `chain`, at `position` (0-based)."""
    nav, els = _overlaid_nav(els, style)
    phrase = _describe(els, chain, style, position, total)
    if nav is not None:
        links = _count([nav], "a")
        phrase += f", under a navigation bar with {_plural(links, 'link')}" if links else ", under a navigation bar"
    return phrase


def _describe(els: list[_Element], chain: list[_Element], style: Style, position: int, total: int) -> str:
    kind = kind_of(els, chain, position, total)
    run, first = _alike_run(els)
    headline = _headline(els)
    where = background(els, chain, style)
    if run >= 3 and first is not None and kind in CARD_KINDS:
        noun = CARD_NOUNS.get(kind, "cards")
        inner = (["a heading"] if _headline([first]) else []) + _parts([first], "section", style)
        phrase = f"{NUMBERS.get(run, str(run))} {noun}" + (f", each with {_join(inner)}" if inner else "")
        if headline:
            section = "a section" if kind in ("section", "list", "gallery") else _an(kind)
            phrase = f'{section} "{headline}" with {phrase}'
    else:
        parts = _parts(els, kind, style)
        named = f'the headline "{headline}"' if kind == "hero" else f'the heading "{headline}"'
        if headline and kind not in ("navigation bar",):
            parts.insert(0, named)
        elif headline:
            parts.insert(0, f'the name "{headline}"')
        words = " ".join(_words(el) for el in els).split()
        if not parts and words:  # nothing counted: say what it reads
            parts.append(f'the line "{" ".join(words[:HEADLINE_WORDS])}{"…" if len(words) > HEADLINE_WORDS else ""}"')
        phrase = _an(kind) + (f" with {_join(parts)}" if parts else "")
    if where:
        phrase += f" on {where}"
    return phrase

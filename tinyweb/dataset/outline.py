"""What a labeller sees of a page: the LabelInput of each cleaned page, with its outline — its structure in
words (navigation bar, hero section, sign-in form, pricing table, …)."""

from __future__ import annotations

import re
from typing import Any

from lxml import html as lxml_html

from tinyweb.compress.roles import hero_of
from tinyweb.dataset.labelers.base import LabelInput

PRICE = re.compile(r"[$€£¥]\s?\d|\d\s?[$€£¥]|\d+\s?(usd|eur)\b", re.I)
PER_PERIOD = re.compile(r"/\s?(mo|month|yr|year)\b|per (month|year|user)", re.I)
SECTION_HINTS = [
    ("testimonials", re.compile(r"testimonial|what (our )?(clients|customers|people) say|reviews", re.I)),
    ("team section", re.compile(r"\b(our|the|meet (the|our)) team\b|^team$", re.I)),
    ("FAQ", re.compile(r"\bfaqs?\b|frequently asked", re.I)),
    ("comments", re.compile(r"\bcomments?\b|leave a (reply|comment)", re.I)),
]


def outline(document: str) -> tuple[list[str], str]:
    """The page's structure in words (navigation bar, hero section, sign-in form, pricing table, …) and the
    text of its first h1."""
    try:
        root = lxml_html.document_fromstring(document)
    except Exception:
        return [], ""
    body = root.find("body")
    if body is None:
        return [], ""
    h1 = next(body.iter("h1"), None)
    h1_text = " ".join(h1.text_content().split()) if h1 is not None else ""
    found: list[str] = []

    def add(item: str) -> None:
        if item not in found:
            found.append(item)

    if body.find(".//nav") is not None or body.xpath(".//*[@role='navigation']"):
        add("navigation bar")
    if body.find(".//aside") is not None or body.xpath(".//*[@role='complementary']"):
        add("sidebar")
    hero = hero_of(body)
    if hero is not None and hero.tag not in ("body", "main") and len(hero.text_content().split()) < 120:
        add("hero section")
    passwords = body.xpath(".//input[@type='password']")
    text = " ".join(body.text_content().split()).lower()
    if len(passwords) >= 2 or (passwords and re.search(r"sign ?up|register|create (an |your )?account", text)):
        add("sign-up form")
    elif passwords:
        add("sign-in form")
    inputs = body.xpath(".//input[not(@type) or @type!='hidden']")
    if body.xpath(".//input[@type='search']") or any("search" in (i.get("placeholder") or "").lower() for i in inputs):
        add("search bar")
    if not passwords:
        if len(inputs) + len(body.xpath(".//select")) >= 8 and re.search(r"address|card|zip|postcode|billing", text):
            add("checkout form")
        elif body.xpath(".//textarea"):
            add("contact form")
        elif body.xpath(".//form[.//input[@type='email']]"):
            add("newsletter signup")
    headings = [" ".join(h.text_content().split()) for h in body.iter("h1", "h2", "h3", "h4")]
    prices = [
        t
        for t in (" ".join(el.text_content().split()) for el in body.iter("h1", "h2", "h3", "h4", "span", "p", "div"))
        if len(t) < 40 and PRICE.search(t)
    ]
    if len(prices) >= 2 and (PER_PERIOD.search(text) or any(re.search(r"pricing|plans?", h, re.I) for h in headings)):
        add("pricing table")
    elif len(prices) >= 3:
        add("price list")
    if any(len(t.findall(".//tr")) >= 3 for t in body.iter("table")):
        add("data table")
    if body.find(".//canvas") is not None or body.xpath(".//*[contains(@id,'chart')]"):
        add("charts")
    if len(body.findall(".//article")) >= 3 or len(re.findall(r"posted (by|on)|read more", text)) >= 3:
        add("list of posts")
    if len(body.findall(".//img")) >= 6:
        add("image gallery")
    if body.find(".//video") is not None:
        add("video")
    if len(body.findall(".//pre")) >= 2:
        add("code samples")
    for item, pattern in SECTION_HINTS:
        if any(pattern.search(h) for h in headings):
            add(item)
    if body.find(".//footer") is not None or body.xpath(".//*[@role='contentinfo']"):
        add("footer")
    return found, h1_text


def label_inputs(pages: list[dict[str, Any]], page_topic: dict[str, str], keywords: dict[str, list[str]]):
    """A LabelInput per cleaned page (rows of OUT/clean), with its topic and outline."""
    inputs = []
    for page in pages:
        topic = page_topic.get(page["id"], "general")
        structure, h1 = outline(page["html"])
        inputs.append(
            LabelInput(
                id=page["id"],
                url=page["url"],
                title=page["title"] or "",
                description=page["description"] or "",
                headings=list(page["headings"]),
                text=page["text"],
                topic=topic,
                keywords=list(keywords.get(topic, [])),
                outline=structure,
                h1=h1,
            )
        )
    return inputs

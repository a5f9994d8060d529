"""What sort of page a page is, from what it says about itself and from its structure; and the words that name
where a page came from (sites, template vendors) instead of what it is.

The extractive labeller writes the kind into its requests ("A sign-in page for …"); the topics stage names a
topic after the kind its pages share ("dashboard", "bakery", "docs"). Both read a page as a `Describable`:
its URL, title, description, headings, visible text and `outline` — its structure in words (navigation bar,
hero section, sign-in form, pricing table, …), from the HTML.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from lxml import html as lxml_html

from tinyweb.compress.roles import hero_of


class Describable(Protocol):
    url: str
    title: str
    description: str
    headings: list[str]
    text: str
    outline: list[str]
    h1: str
    keywords: list[str]


@dataclass
class PageFacts:
    """A Describable from a cleaned page's record (`facts(record)`)."""

    url: str
    title: str
    description: str
    headings: list[str]
    text: str
    outline: list[str] = field(default_factory=list)
    h1: str = ""
    keywords: list[str] = field(default_factory=list)


def facts(record: dict) -> PageFacts:
    """What a cleaned page (a row of OUT/clean) says of itself, with its outline from its HTML."""
    structure, h1 = outline(record["html"])
    return PageFacts(
        url=record["url"],
        title=record.get("title") or "",
        description=record.get("description") or "",
        headings=list(record.get("headings") or []),
        text=record.get("text") or "",
        outline=structure,
        h1=h1,
    )


# (kind, pattern over what the page says it is: title, URL path, first heading, description). First match wins.
PRIMARY_KINDS: list[tuple[str, str]] = [
    ("404 error page", r"\b404\b|page not found"),
    ("password reset page", r"forgot(ten)? (your )?password|reset (your )?password|recover (your )?account"),
    ("coming-soon page", r"coming soon|under construction|launching soon|almost there|we are working hard|countdown"),
    ("checkout page", r"\bcheckout\b|billing address|payment method"),
    ("admin dashboard", r"\b(dashboard|admin|analytics|control panel)\b"),
    ("pricing page", r"\b(pricing|price plans?|our plans)\b"),
    ("product page", r"\bshop item\b|\bproduct (details|page)\b|\bproduct\b"),
    ("online shop", r"\b(shop|store|e-?commerce|boutique)\b"),
    ("documentation page", r"\b(documentation|docs|api reference|reference manual|tutorial|howtos?|user guide)\b"),
    ("reference article", r"\b(definition|encyclopedia|dictionary|wiki|glossary|codepoint)\b"),
    ("resume page", r"\b(resume|résumé|curriculum vitae|cv)\b"),
    ("photography portfolio", r"\b(photography|photographer|photographs)\b"),
    ("wedding website", r"\b(wedding|bride|groom)\b"),
    ("{} website", r"\b(bakery|café|cafe|coffee shop|pizzeria|bistro|restaurant)\b"),
    ("restaurant website", r"\b(menu|food|pizza|coffee|chef)\b"),
    ("real estate website", r"\b(real estate|realty|properties|property|apartments?|homes for sale)\b"),
    ("event page", r"\b(conference|summit|festival|meetup|event)\b"),
    ("portfolio", r"\b(portfolio|photography|photographer|album|gallery|my work)\b"),
    ("blog", r"\bblog\b"),
    ("news site", r"\bnews\b"),
    ("contact page", r"^contact( us| me)?\b|\bcontact (us|me)\b"),
    ("landing page", r"\b(landing|app|saas|startup|software|download)\b"),
    ("medical practice website", r"\b(clinic|medical|dental|dentist|doctor|health|fitness|gym|yoga)\b"),
    ("company website", r"\b(agency|company|consulting|corporate|business|studio|services|solutions)\b"),
]
# Bootstrap-style component demo pages: their title is a component name.
COMPONENTS = re.compile(
    r"^(navbars?|navbar.*|dropdowns|sidebars|headers|footers|heroes|features|modals|list groups|buttons|badges|"
    r"breadcrumbs?|jumbotron|custom jumbotron|carousel|masonry|grid|cards.*|typography|offcanvas.*|sticky footer.*|"
    r"starter.*|bare|cheatsheet|forms?|tables?|alerts|icons|charts|colors|buttons|components?)$",
    re.I,
)
# (kind, pattern over the rest: all headings and the topic keywords), when nothing above matched.
SECONDARY_KINDS: list[tuple[str, str]] = [
    ("blog post", r"\b(posted (on|by)|comments?|leave a (reply|comment)|related posts|recent posts|popular posts)\b"),
    ("restaurant website", r"\b(our menu|reservations?|book a table)\b"),
    ("resume page", r"\bwork experience\b|\beducation\b.*\bskills\b|\bskills\b.*\beducation\b"),
    ("landing page", r"\b(features|pricing|download|get started|free trial|how it works)\b"),
    ("company website", r"\b(our services|services|our team|about us|clients|what we do)\b"),
]
# The one word for a group of pages of a kind (kind_word); kinds that name no subject are missing.
KIND_WORDS = {
    "404 error page": "not-found",
    "password reset page": "password-reset",
    "coming-soon page": "coming-soon",
    "checkout page": "checkout",
    "admin dashboard": "dashboard",
    "pricing page": "pricing",
    "product page": "product",
    "online shop": "shop",
    "documentation page": "docs",
    "reference article": "reference",
    "resume page": "resume",
    "photography portfolio": "photography",
    "wedding website": "wedding",
    "restaurant website": "restaurant",
    "real estate website": "real-estate",
    "event page": "event",
    "portfolio": "portfolio",
    "blog": "blog",
    "blog post": "blog",
    "news site": "news",
    "contact page": "contact",
    "landing page": "landing",
    "component showcase": "components",
    "sign-up page": "sign-up",
    "sign-in page": "sign-in",
}
BY_SUBJECT = {"company website", "medical practice website"}  # named by the word that matched
SUBJECT_WORDS = {"corporate": "company", "solutions": "business", "services": "business", "our services": "business"}
# Site, vendor and template words: they name where a page came from, not what it is.
VENDOR = re.compile(
    r"\b(start ?bootstrap|bootstrap(\s*v?\d[\d.]*)?|colorlib|themewagon|templatemag|creative tim|w3layouts|coreui|"
    r"html5?|css3?|responsive|free|multipurpose|template|theme|example|examples|demo|pro|v\d[\d.]*)\b",
    re.I,
)
SEPARATORS = re.compile(r"\s+[|·•»–—:-]\s+|\s*[|·•»]\s*")


def title_head(title: str) -> str:
    """The title's first segment ("Album example" of "Album example · Bootstrap v5.2"), vendor words removed."""
    text = " ".join(VENDOR.sub(" ", SEPARATORS.split(title or "")[0]).split())
    return text.strip(" .,:;!?¶#*-–—|\"'“”")


def _kind(page: Describable) -> tuple[str, str]:
    """The kind of page and the words that said so (what the pattern matched; the kind itself for structure)."""
    path = urlsplit(page.url).path.rsplit("/", 2)
    where = " ".join(path[-2:]).replace("-", " ").replace("_", " ").replace(".html", "")
    first = page.h1 or (page.headings[0] if page.headings else "")
    primary = " ".join([page.title, where, first, page.description]).lower()
    outline = set(page.outline)
    words = len(page.text.split())
    if COMPONENTS.match(title_head(page.title)):
        return "component showcase", ""
    if "sign-up form" in outline and (
        re.search(r"sign ?up|register|create (an |your )?account", primary) or words < 150
    ):
        return "sign-up page", ""
    if "sign-in form" in outline and (re.search(r"sign ?in|log ?in|login", primary) or words < 150):
        return "sign-in page", ""
    if "checkout form" in outline:
        return "checkout page", ""
    for name, pattern in PRIMARY_KINDS:
        if found := re.search(pattern, primary):
            name = name.format(found.group(1)) if "{}" in name else name
            if name == "blog" and "list of posts" not in outline and words < 2000:
                return "blog post", found.group(0)
            if name == "pricing page" and "pricing table" not in outline:
                continue
            return name, found.group(0)
    if "charts" in outline and "sidebar" in outline:
        return "admin dashboard", ""
    if "list of posts" in outline:
        return "blog", ""
    secondary = " ".join(page.headings + page.keywords[:3]).lower()
    for name, pattern in SECONDARY_KINDS:
        if found := re.search(pattern, secondary):
            return name, found.group(0)
    if "pricing table" in outline:
        return "landing page", ""
    if words >= 400:
        return "article page", ""
    return "web page", ""


def kind(page: Describable) -> str:
    """What sort of page this is ("sign-in page", "admin dashboard", "bakery website", …): what it says it is
    first, then its structure, then its other headings."""
    return _kind(page)[0]


def kind_word(page: Describable) -> str | None:
    """The kind in one word a person would use for a group of such pages ("dashboard", "bakery", "docs",
    "sign-in", "yoga"), or None for a page that says nothing of its kind ("web page", "article page")."""
    name, matched = _kind(page)
    if name in BY_SUBJECT:  # "a company website" says less than the word it matched: studio, agency, yoga, clinic
        return SUBJECT_WORDS.get(matched, matched).replace(" ", "-")
    if name.endswith(" website") and name not in KIND_WORDS:  # "{} website": bakery, café, pizzeria …
        return _slug(name.removesuffix(" website"))
    return KIND_WORDS.get(name)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode())


# --- the outline: a page's structure in words ----------------------------------------------------------------
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

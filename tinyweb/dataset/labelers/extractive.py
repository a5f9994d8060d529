"""The default labeller: a request written by rules from what the page says about itself. Fast, no model.

    A {kind} {for/about subject}[, with {features}]

- kind: what sort of page it is ("sign-in page", "admin dashboard", "blog post", "landing page", …), the first
  kind whose pattern the page's title, headings, URL path, description and outline match
  (tinyweb.compress.pagekind, which the topics stage names topics by); else "web page".
- subject: what it is for, from the first informative of: the meta/og description's first clause, the first
  heading, the title — each stripped of site names, template vendors and filler ("lorem ipsum …").
- features: the outline (navigation bar, contact form, pricing table, …) then short section headings, as many
  as fit in 40 words.
"""

from __future__ import annotations

import re

from tinyweb.compress.pagekind import COMPONENTS, SEPARATORS, VENDOR, kind
from tinyweb.dataset.labelers.base import MAX_LABEL_WORDS, LabelFailure, LabelInput, Progress, is_boilerplate

VERSION = "extractive/5"

ARTICLE_AN = re.compile(r"^[aeiou]", re.I)
FILLER = re.compile(r"lorem|ipsum|dolor sit|consectetur|adipisicing|sed do eiusmod", re.I)
GENERIC_SECTIONS = {
    "home",
    "menu",
    "navigation",
    "main",
    "more",
    "links",
    "quick links",
    "useful links",
    "follow us",
    "social",
    "copyright",
    "search",
    "table of contents",
    "previous topic",
    "next topic",
    "this page",
}
MAX_SUBJECT_WORDS = 12
MAX_SECTIONS = 4


FEATURE_PHRASES = {  # how an outline item reads in a request
    "list of posts": "a list of posts",
    "charts": "charts",
    "comments": "comments",
    "testimonials": "testimonials",
    "code samples": "code samples",
    "FAQ": "an FAQ",
}
UBIQUITOUS = ("navigation bar", "footer")  # named only when little else is
MAX_FEATURES = 4
FUNCTION_WORDS = re.compile(r"^(a|an|the|this|these|our|my|your|we|how|what|why|latest|all|new|welcome)\b", re.I)


def _an(phrase: str) -> str:
    return ("an " if ARTICLE_AN.match(phrase) else "a ") + phrase


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text.strip(" .,:;!?¶#*-–—|\"'“”")


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _informative(text: str) -> bool:
    words = text.split()
    return (
        bool(words)
        and text.lower() not in ("none", "null", "undefined", "untitled")
        and not FILLER.search(text)
        and not is_boilerplate(text + " x x")
        and re.search(r"[^\W\d_]{2}", text) is not None
    )


def _is_brand(text: str, url: str) -> bool:
    """A name that the URL spells too (the site or template name), e.g. "One Page Wonder" on
    /startbootstrap-one-page-wonder/: it names the page, it does not say what the page is for."""
    squashed = _squash(text)
    return len(squashed) >= 4 and squashed in _squash(url)


_KIND_WORDS = """page pages site website web landing admin dashboard panel coming soon under construction blog
portfolio shop store home homepage official main index app apps for the a an of and my our your new"""
KIND_WORDS = frozenset(_KIND_WORDS.split())


def _says_more(text: str, url: str) -> bool:
    """Whether a subject says more than a page kind and the site's name (words the URL spells)."""
    squashed_url = _squash(url)
    words = [w for w in re.findall(r"[^\W_]+", text.lower()) if w not in KIND_WORDS]
    return any(len(w) < 3 or w not in squashed_url for w in words)


def _title_segments(title: str) -> list[str]:
    segments = [_clean(VENDOR.sub(" ", seg)) for seg in SEPARATORS.split(title or "")]
    return [s for s in segments if len(s) > 2 and _informative(s) and s.lower() not in GENERIC_SECTIONS]


def _short(text: str, limit: int = MAX_SUBJECT_WORDS) -> str:
    """The first sentence, cut at a clause boundary when long."""
    text = _clean(re.split(r"(?<=[.!?])\s", _clean(text), maxsplit=1)[0])
    words = text.split()
    if len(words) > limit:
        head = " ".join(words[:limit])
        cut = max(head.rfind(","), head.rfind(";"), head.rfind(" – "), head.rfind(" - "))
        text = head[:cut] if cut > len(head) // 2 else head
        text = re.sub(
            r"\s+(and|or|of|the|a|an|to|for|with|in|on|by|from|that|which|is|are|was|they|it)$", "", text, flags=re.I
        )
    return _clean(text)


def subject(page: LabelInput) -> str:
    """What the page is for, as a short phrase ("" when nothing informative is left): the title's informative
    part, else the first heading, else the description's first clause — never a bare site or template name."""
    candidates = [s for s in _title_segments(page.title) if len(s.split()) >= 2]
    candidates += [_clean(page.h1 or (page.headings[0] if page.headings else ""))]
    if page.description:
        candidates.append(_short(page.description))
    candidates += _title_segments(page.title)
    for text in candidates:
        text = _short(_clean(VENDOR.sub(" ", text)))
        if not text or not _informative(text) or text.lower() in GENERIC_SECTIONS or _is_brand(text, page.url):
            continue
        if COMPONENTS.match(text) or not _says_more(text, page.url):
            continue
        return text[0].lower() + text[1:] if FUNCTION_WORDS.match(text) and not text[:2].isupper() else text
    return ""


def sections(page: LabelInput, used: str) -> list[str]:
    """Short section headings that say something: not filler, not numbers, not already in the label."""
    found: list[str] = []
    for heading in page.headings[1:]:
        heading = _clean(heading)
        low = heading.lower()
        if not (1 <= len(heading.split()) <= 4) or not re.search(r"[^\W\d_]{3}", low) or not _informative(heading):
            continue
        if low in GENERIC_SECTIONS or low in used.lower() or any(low == f.lower() for f in found):
            continue
        found.append(heading if heading.isupper() is False and heading[:1].isupper() else heading.capitalize())
        if len(found) == MAX_SECTIONS:
            break
    return found


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# Inner pages of a site, named by the first part of their title or their h1: "About the family — Crumb & Co."
SECTION_PAGE = re.compile(
    r"^(about|contact|menu|our menu|pricing|prices|collections|gallery|portfolio|blog|journal|news|faq|services|"
    r"team|careers|jobs|shop|products|work|projects|events|location|locations|reservations?|testimonials|"
    r"installing|install|installation|getting started|reference|command reference|api)\b",
    re.I,
)
SITE_NOUN = re.compile(
    r"\b(?:is|are) (?:an?|the|your) ((?:[\w'-]+ ){0,3}?[\w'-]*(?:bakery|studio|shop|store|restaurant|café|cafe|"
    r"agency|company|firm|tool|app|platform|library|blog|magazine|school|clinic|practice|photographer|"
    r"designer|developer|hotel|gym|church|charity|band|service))\b",
    re.I,
)


def site_noun(page: LabelInput) -> str:
    """What the whole site is, when the description says so ("Crumb & Co. is a family bakery …")."""
    found = SITE_NOUN.search(page.description or "")
    return found.group(1).lower() if found else ""


def compose(page: LabelInput) -> str:
    what = kind(page)
    about = subject(page)
    segments = [_clean(VENDOR.sub(" ", seg)) for seg in SEPARATORS.split(page.title or "")]
    section = len([seg for seg in segments if seg]) >= 2 and SECTION_PAGE.match(segments[0])
    if section and what not in ("component showcase", "documentation page"):
        site = site_noun(page) or (
            what.replace(" website", "") if re.search(r"website|portfolio|shop|blog|news site$", what) else "website"
        )
        named = segments[0].lower()
        what = f"{named} page for {_an(site)}"
        about = ""
    if what == "component showcase":
        title = segments[0].lower()
        head = f"A page showcasing {title} designs" if title else "A page showcasing interface components"
    else:
        head = _an(what)
        filler = set(re.findall(r"\w+", what.lower())) | {"form", "page", "please", "your", "here", "now"}
        if about and set(re.findall(r"\w+", about.lower())) <= filler:
            about = ""
        if about and _squash(about) != _squash(what):
            preposition = (
                " about "
                if what
                in (
                    "blog post",
                    "documentation page",
                    "web page",
                    "article page",
                    "reference article",
                    "news site",
                    "blog",
                )
                else " for "
            )
            head += preposition + about
    items = [item for item in page.outline if item not in UBIQUITOUS]
    if len(items) < 2:
        items = list(page.outline)
    items = [
        i for i in items if (i.split()[0].lower() not in head.lower() and i != "hero section") or i == "hero section"
    ]
    features = [FEATURE_PHRASES.get(item) or _an(item) for item in items[:MAX_FEATURES]]
    named = sections(page, head + " " + " ".join(features))
    if named:
        features.append(("sections on " if len(named) > 1 else "a section on ") + _join(named))
    label = head
    for count in range(len(features), -1, -1):
        label = head + (", with " + _join(features[:count]) if count else "")
        if len(label.split()) <= MAX_LABEL_WORDS:
            break
    label = " ".join(label.split()[:MAX_LABEL_WORDS])
    return label[0].upper() + label[1:]


class ExtractiveLabeler:
    name = "extractive"
    version = VERSION

    def label(self, pages: list[LabelInput], progress: Progress | None = None) -> list[str | LabelFailure]:
        results: list[str | LabelFailure] = []
        for page in pages:
            results.append(compose(page))
            if progress:
                progress(1)
        return results

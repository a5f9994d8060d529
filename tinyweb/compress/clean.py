"""Stage 1, clean: snapshots in, the pages worth learning from out, their styles normalised.

Per snapshot (in parallel, `datasets.map` over Arrow shards):
- parse the document with lxml; a page that does not parse, or whose CSS does not, is dropped with its reason;
- drop subtrees that do not render (`display:none` at every captured width) and their pseudo-element and
  @media rules;
- normalise every style attribute, pseudo-element rule and per-width @media rule (tinyweb.compress.css; the
  @media declarations keep their longhands, since a folded shorthand would reset more than the capture saw),
  keep @font-face rules;
- write links to the page's own site relative to the page (the capture resolved every URL): `#top`, not
  `http://example.com/blog/post.html#top`; images, fonts and other resources the page loads keep theirs;
- measure the page's skeleton (markup and text without any style) in SmolLM2 tokens; with `max_tokens` set
  (off by default: the prompts stage cuts long pages into sections), a page whose skeleton alone is over it is
  dropped, since no styled page of it could fit.
Then, over the whole corpus: empty pages, exact duplicates and near duplicates (same text, same element
skeleton, e.g. one page under two URLs) are dropped, keeping the first URL in sorted order.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import tinycss2
from lxml import etree, html

from tinyweb.capture.responsive import MEDIA_STYLE_ATTR, REVERT, media_rules, query_breakpoint
from tinyweb.compress.css import (
    CSSError,
    canonical,
    fold_shorthands,
    normalize_style,
    normalize_value,
    parse_declarations,
    style_text,
)
from tinyweb.compress.styles import PSEUDO_RULE, page_doctype
from tinyweb.errors import UsageError
from tinyweb.snapshot import Snapshot
from tinyweb.urls import relative_link

HEADING_TAGS = ("h1", "h2", "h3")
MIN_TEXT_CHARS = 1
# Where a page names another page rather than something it loads: written relative to the page.
LINK_ATTRIBUTES = (("a", "href"), ("area", "href"), ("form", "action"))


@dataclass
class CleanOptions:
    max_tokens: int = field(
        default=0,
        metadata={"help": "Drop pages that cannot fit in this many SmolLM2 tokens (0: keep pages of any length)."},
    )
    num_proc: int | None = field(default=None, metadata={"help": "Processes (default: every core).", "flag": "--jobs"})

    def __post_init__(self) -> None:
        if self.max_tokens < 0:
            raise UsageError("--max-tokens must be 0 (no limit) or more")


@dataclass
class PageRecord:
    """A cleaned page: the plain record the later stages read (a row of OUT/clean)."""

    id: str
    url: str
    title: str
    description: str
    lang: str
    viewport_width: int
    viewport_height: int
    viewports: list[list[int]]  # every captured [width, height], widest first; narrower ones are @media rules
    captured_at: str
    text: str  # visible text, for topics and labels
    headings: list[str]
    html: str  # the cleaned snapshot: normalised inline styles, one <style> of @font-face and pseudo rules
    source_html: str  # the snapshot as captured, what `tinyweb verify` compares the semantic page with
    elements: int
    removed_hidden: int  # elements in display:none subtrees that were dropped
    snapshot_bytes: int
    seed_format_bytes: int
    seed_format_tokens: int  # -1 when only the size was captured
    snapshot_tokens: int
    skeleton_tokens: int
    text_hash: str
    skeleton_hash: str
    html_hash: str


@dataclass
class Dropped:
    id: str
    url: str
    reason: str  # bad_html, bad_css, empty, too_long, duplicate, near_duplicate
    detail: str = ""


@dataclass
class CleanResult:
    pages: list[dict[str, Any]]
    dropped: list[Dropped] = field(default_factory=list)


def _parse(document: str) -> html.HtmlElement:
    try:
        root = html.document_fromstring(document, parser=html.HTMLParser(remove_comments=True))
    except (etree.ParserError, ValueError) as exc:
        raise CSSError(f"HTML does not parse: {exc}") from exc
    return root


def _parse_rules(css: str) -> tuple[list[str], dict[str, list[tuple[str, tuple]]]]:
    """The capture's <style>: @font-face rules (normalised text) and pseudo rules by data-tw key."""
    faces: list[str] = []
    pseudo: dict[str, list[tuple[str, tuple]]] = {}
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "error":
            raise CSSError(f"stylesheet: {rule.message}")
        if rule.type == "at-rule" and rule.lower_at_keyword == "font-face" and rule.content is not None:
            decls = parse_declarations(tinycss2.serialize(rule.content))
            faces.append("@font-face{" + style_text(sorted(decls.items())) + "}")
        elif rule.type == "qualified-rule":
            selector = tinycss2.serialize(rule.prelude).strip()
            match = PSEUDO_RULE.match(selector)
            if not match:
                raise CSSError(f"unexpected rule {selector!r} in the capture's style block")
            style = canonical(fold_shorthands(parse_declarations(tinycss2.serialize(rule.content))))
            pseudo.setdefault(match.group(1), []).append((match.group(2), style))
        else:
            raise CSSError(f"unexpected @{getattr(rule, 'at_keyword', rule.type)} in the capture's style block")
    return faces, pseudo


def pseudo_css(faces: list[str], pseudo: dict[str, list[tuple[str, tuple]]]) -> str:
    lines = list(faces)
    for key in sorted(pseudo, key=lambda k: int(k, 36)):
        for selector, style in pseudo[key]:
            lines.append(f'[data-tw="{key}"]{selector}{{{style_text(style)}}}')
    return "\n".join(lines)


# Per-width rules of a page: query -> data-tw key -> pseudo selector ("" for the element) -> style.
Media = dict[str, dict[str, dict[str, tuple]]]


def _parse_media(css: str) -> Media:
    try:
        parsed = media_rules(css)
    except ValueError as exc:
        raise CSSError(str(exc)) from exc
    media: Media = {}
    for query, items in parsed:
        for key, selector, style in items:
            decls = {p: v if v == REVERT else normalize_value(p, v) for p, v in style.items()}
            media.setdefault(query, {}).setdefault(key, {})[selector] = canonical(decls)
    return media


def media_css(media: Media) -> str:
    """The cleaned per-width rules, `!important` as in the capture, widest breakpoint first."""
    blocks = []
    for query in sorted(media, key=query_breakpoint, reverse=True):
        rules = [
            f'[data-tw="{key}"]{selector}{{' + ";".join(f"{p}:{v} !important" for p, v in style) + "}"
            for key in sorted(media[query], key=lambda k: int(k, 36))
            for selector, style in sorted(media[query][key].items())
        ]
        blocks.append(f"@media {query}{{{''.join(rules)}}}")
    return "\n".join(blocks)


_URL_REF = re.compile(r"url\(\s*[\"']?#([^\"')\s]+)")


def _referenced_ids(root: html.HtmlElement) -> set[str]:
    """Ids the page points at from elsewhere: `href="#id"` (SVG <use>, links) and `url(#id)` (gradients,
    clip paths, masks, filters, markers) in styles and presentation attributes."""
    ids: set[str] = set()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            if name.endswith("href") and value.startswith("#"):
                ids.add(value[1:])
            elif "url(" in value:
                ids.update(_URL_REF.findall(value))
    for style_el in root.iter("style"):
        ids.update(_URL_REF.findall(style_el.text or ""))
    return ids


def _hidden(style: tuple) -> bool:
    return ("display", "none") in style


def _hidden_everywhere(style: tuple, key: str | None, media: Media) -> bool:
    """Hidden at the base width and at every other captured width (its @media rules applied)."""
    if not _hidden(style):
        return False
    for rules in media.values():
        display = rules.get(key, {}).get("", ()) if key else ()
        value = dict(display).get("display")
        if value is not None and value != "none":
            return False
    return True


def _skeleton(root: html.HtmlElement, doctype: str | None) -> str:
    """The page without any style: what no framework can compress away."""
    copy = html.fromstring(html.tostring(root))
    for el in copy.iter():
        if isinstance(el.tag, str):
            el.attrib.pop("style", None)
            el.attrib.pop("data-tw", None)
    for style in copy.iter("style"):
        style.drop_tree()
    return html.tostring(copy, encoding="unicode", doctype=doctype)


def relative_links(root: html.HtmlElement, page_url: str) -> None:
    """Links, image-map areas and form actions to `page_url`'s own site, relative to it. Where a link goes
    changes no pixel; a page's own addresses (the crawl server's, in the corpus) are nothing to learn."""
    for tag, attribute in LINK_ATTRIBUTES:
        for el in root.iter(tag):
            value = el.get(attribute)
            if value:
                el.set(attribute, relative_link(value, page_url))


def _normalise_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def clean_snapshot(snap: Snapshot, tokens: Any) -> PageRecord:
    """Clean one snapshot; raises CSSError (bad input) with a reason for the report."""
    root = _parse(snap.html)
    head = root.find("head")
    faces, pseudo, media = _take_style_blocks(head)
    body = root.find("body")
    if body is None:
        raise CSSError("the document has no body")
    hidden = _normalise_styles(root, body, media)
    removed = _drop_hidden(root, hidden, pseudo)
    relative_links(root, snap.url)
    _write_style_blocks(root, head, faces, pseudo, media)
    return _record(snap, root, body, removed, tokens)


def _take_style_blocks(head: html.HtmlElement | None) -> tuple[list[str], dict[str, list[tuple[str, tuple]]], Media]:
    """The capture's style blocks, parsed and taken out of the head: @font-face rules, pseudo-element rules by
    element key, and the per-width (@media) rules."""
    faces: list[str] = []
    pseudo: dict[str, list[tuple[str, tuple]]] = {}
    media: Media = {}
    for style_el in head.findall("style") if head is not None else []:
        if style_el.get(MEDIA_STYLE_ATTR) is not None:
            media = _parse_media(style_el.text or "")
        else:
            more_faces, more_pseudo = _parse_rules(style_el.text or "")
            faces += more_faces
            pseudo.update(more_pseudo)
        style_el.drop_tree()
    return faces, pseudo, media


def _normalise_styles(root: html.HtmlElement, body: html.HtmlElement, media: Media) -> list[html.HtmlElement]:
    """Every style attribute normalised (an empty one removed); the elements hidden at every width."""
    hidden: list[html.HtmlElement] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        el.attrib.pop("data-tw-i", None)  # test captures number their elements; it means nothing here
        text = el.attrib.get("style")
        if text is None:
            continue
        style = normalize_style(text)
        if _hidden_everywhere(style, el.attrib.get("data-tw"), media) and el is not body and el is not root:
            hidden.append(el)
        if style:
            el.attrib["style"] = style_text(style)
        else:
            del el.attrib["style"]
    return hidden


def _drop_hidden(
    root: html.HtmlElement, hidden: list[html.HtmlElement], pseudo: dict[str, list[tuple[str, tuple]]]
) -> int:
    """Remove the hidden subtrees (and their pseudo-element rules), except those the page refers to by id;
    how many elements went."""
    removed = 0
    referenced = _referenced_ids(root)
    for el in hidden:
        if el.getparent() is None or any(a in hidden for a in el.iterancestors()):
            continue
        if any(isinstance(inner.tag, str) and inner.get("id") in referenced for inner in el.iter()):
            continue  # a hidden SVG sprite: its symbols and gradients still draw wherever <use> or url(#…) names them
        for inner in el.iter():
            removed += 1
            key = inner.attrib.get("data-tw") if isinstance(inner.tag, str) else None
            if key is not None:
                pseudo.pop(key, None)
        el.drop_tree()  # keeps the text that follows it
    return removed


def _write_style_blocks(
    root: html.HtmlElement,
    head: html.HtmlElement | None,
    faces: list[str],
    pseudo: dict[str, list[tuple[str, tuple]]],
    media: Media,
) -> None:
    """The normalised style blocks back in the head, with only the rules of elements still there."""
    used_keys = {el.attrib["data-tw"] for el in root.iter() if isinstance(el.tag, str) and "data-tw" in el.attrib}
    pseudo = {k: v for k, v in pseudo.items() if k in used_keys}
    media = {q: {k: v for k, v in rules.items() if k in used_keys} for q, rules in media.items()}
    media = {q: rules for q, rules in media.items() if rules}
    if (faces or pseudo) and head is not None:
        style_el = etree.SubElement(head, "style")
        style_el.text = "\n" + pseudo_css(faces, pseudo) + "\n"
    if media and head is not None:
        style_el = etree.SubElement(head, "style", {MEDIA_STYLE_ATTR: ""})
        style_el.text = "\n" + media_css(media) + "\n"


def _record(snap: Snapshot, root: html.HtmlElement, body: html.HtmlElement, removed: int, tokens: Any) -> PageRecord:
    """The cleaned page as the record later stages read, with its token counts and duplicate digests."""
    doctype = page_doctype(snap.html, root)
    document = html.tostring(root, encoding="unicode", doctype=doctype)
    skeleton = _skeleton(root, doctype)
    headings = [
        re.sub(r"\s+", " ", h.text_content()).strip() for h in body.iter(*HEADING_TAGS) if h.text_content().strip()
    ]
    counts = tokens([document, skeleton] + ([snap.seed_format_html] if snap.seed_format_html else []))
    tag_sequence = " ".join(el.tag for el in body.iter() if isinstance(el.tag, str))
    return PageRecord(
        id=snap.id or "",
        url=snap.url,
        title=snap.title,
        description=snap.description or snap.og.get("description", "") or "",
        lang=snap.lang or "",
        viewport_width=snap.viewport.width,
        viewport_height=snap.viewport.height,
        viewports=[[v.width, v.height] for v in snap.viewports] or [[snap.viewport.width, snap.viewport.height]],
        captured_at=snap.captured_at.isoformat(),
        text=snap.text,
        headings=headings[:40],
        html=document,
        source_html=snap.html,
        elements=sum(1 for el in body.iter() if isinstance(el.tag, str)),
        removed_hidden=removed,
        snapshot_bytes=len(snap.html.encode("utf-8")),
        seed_format_bytes=snap.stats.seed_format_bytes or 0,
        seed_format_tokens=counts[2] if snap.seed_format_html else -1,
        snapshot_tokens=counts[0],
        skeleton_tokens=counts[1],
        text_hash=_digest(_normalise_text(snap.text)),
        skeleton_hash=_digest(tag_sequence),
        html_hash=_digest(document.replace(snap.url, "")),
    )


def dedupe(pages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Dropped]]:
    """Keep the first of each exact or near duplicate group, by URL order (so the result is deterministic)."""
    kept, dropped = [], []
    seen_html: dict[str, str] = {}
    seen_near: dict[tuple[str, str], str] = {}
    for page in sorted(pages, key=lambda p: (p["url"], p["id"])):
        near = (page["text_hash"], page["skeleton_hash"])
        if page["html_hash"] in seen_html:
            dropped.append(
                Dropped(page["id"], page["url"], "duplicate", f"same HTML as {seen_html[page['html_hash']]}")
            )
        elif near in seen_near:
            dropped.append(
                Dropped(page["id"], page["url"], "near_duplicate", f"same text and skeleton as {seen_near[near]}")
            )
        else:
            seen_html[page["html_hash"]] = page["url"]
            seen_near[near] = page["url"]
            kept.append(page)
    return kept, dropped


def _clean_item(item: str, max_tokens: int) -> str:
    """One snapshot (JSON) in, one JSON result out: {"page": {...}} or {"dropped": {...}}."""
    import json
    from dataclasses import asdict

    from tinyweb.models import count_tokens

    snap = Snapshot.model_validate_json(item)
    try:
        page = clean_snapshot(snap, count_tokens)
    except CSSError as exc:
        reason = "bad_html" if str(exc).startswith(("HTML", "the document")) else "bad_css"
        return json.dumps({"dropped": asdict(Dropped(snap.id or "", snap.url, reason, str(exc)[:300]))})
    if page.elements == 0 or len(page.text.strip()) < MIN_TEXT_CHARS:
        return json.dumps({"dropped": asdict(Dropped(page.id, page.url, "empty", f"{page.elements} elements"))})
    if max_tokens and page.skeleton_tokens > max_tokens:
        detail = f"{page.skeleton_tokens} tokens without any style, over --max-tokens {max_tokens}"
        return json.dumps({"dropped": asdict(Dropped(page.id, page.url, "too_long", detail))})
    return json.dumps({"page": asdict(page)})


def clean(snapshots: list[Snapshot], options: CleanOptions) -> CleanResult:
    """The clean stage's entry point."""
    import functools
    import json

    from tinyweb.parallel import parallel_map

    items = [snap.model_dump_json() for snap in sorted(snapshots, key=lambda s: s.id or "")]
    results = parallel_map(
        functools.partial(_clean_item, max_tokens=options.max_tokens), items, options.num_proc, "clean"
    )
    pages, dropped = [], []
    for text in results:
        result = json.loads(text)
        if "page" in result:
            pages.append(result["page"])
        else:
            dropped.append(Dropped(**result["dropped"]))
    pages, duplicates = dedupe(pages)
    return CleanResult(pages=pages, dropped=dropped + duplicates)

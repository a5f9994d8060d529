"""Responsive capture: one page at several widths, merged into one snapshot with @media rules.

The capture script runs once per width on the same live page, numbering the elements it keeps
(`data-tw-i`), so element *n* of one pass is element *n* of the other. The widest pass is the snapshot; every
narrower width adds, per element, only the declarations that differ there, as `!important` rules keyed by the
capture's `data-tw` attribute inside `@media (max-width: …)`, so the snapshot itself renders each captured
width. A declaration the narrower width does not have becomes `revert`: the capture leaves out exactly what
the element gets anyway (its tag's default, or what it inherits), and `revert` rolls back to that.

When the DOM changes between the passes (a resize handler moves or restyles elements), the element numbers
no longer correspond: the snapshot keeps the widest capture alone and says why (`single_width`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tinycss2
from lxml import html

from tinyweb.snapshot import Viewport

DESKTOP = Viewport(width=1280, height=800)
PHONE = Viewport(width=390, height=844)
DEFAULT_VIEWPORTS = (DESKTOP, PHONE)
# Where a narrower capture's rules start to apply: the first common breakpoint at or above its width (and
# below the next wider capture), so a 390 px capture covers phones up to 575.98 px.
STANDARD_BREAKPOINTS = (575.98, 767.98, 991.98, 1199.98, 1399.98)
REVERT = "revert"
# After a resize: let resize handlers (often debounced), media-query transitions and layout finish.
RESIZE_SETTLE_MS = 300

MARK = re.compile(r' data-tw-i="(\d+)"')
RULE = re.compile(r'^\[data-tw="([0-9a-z]+)"\](::?[a-z-]+)$')
MEDIA_RULE = re.compile(r'^\[data-tw="([0-9a-z]+)"\](::?[a-z-]+)?$')
MEDIA_STYLE_ATTR = "data-tw-media"

# Changes our own scripts make are not the page's: element numbers, and settle's eager image loading.
OBSERVE_JS = """() => {
  const seen = [];
  const ours = new Set(["data-tw-i", "loading"]);
  const note = (r) => {
    if (ours.has(r.attributeName)) return;
    seen.push(r.type + " " + r.target.nodeName + (r.attributeName ? "[" + r.attributeName + "]" : ""));
  };
  const observer = new MutationObserver((records) => records.forEach(note));
  observer.observe(document.documentElement, {subtree: true, childList: true, attributes: true,
    characterData: true});
  globalThis.__tinywebMutations = {observer, seen, note};
}"""
STOP_OBSERVING_JS = """() => {
  const state = globalThis.__tinywebMutations;
  if (!state) return [];
  state.observer.takeRecords().forEach(state.note);
  state.observer.disconnect();
  delete globalThis.__tinywebMutations;
  return state.seen.slice(0, 20);
}"""


def breakpoint_for(width: int, wider: int) -> float:
    """The max-width a capture at `width` applies up to, given the next wider capture at `wider`."""
    for point in STANDARD_BREAKPOINTS:
        if width <= point < wider:
            return point
    return float(width)


def media_query(point: float) -> str:
    return f"(max-width: {point:g}px)"


def query_breakpoint(query: str) -> float:
    """The max-width of a media_query() (0 for anything else), for ordering blocks widest first."""
    match = re.search(r"max-width:\s*([\d.]+)px", query)
    return float(match.group(1)) if match else 0.0


def parse_style(text: str | None) -> dict[str, str]:
    """A capture's `style` attribute (`prop: value; …`, written by the capture script) as a dict."""
    out: dict[str, str] = {}
    for decl in tinycss2.parse_blocks_contents(text or "", skip_comments=True, skip_whitespace=True):
        if decl.type == "declaration":
            out[decl.lower_name] = tinycss2.serialize(decl.value).strip()
    return out


@dataclass
class Pass:
    """What one capture pass kept, by element number."""

    tags: dict[int, str] = field(default_factory=dict)
    styles: dict[int, dict[str, str]] = field(default_factory=dict)
    keys: dict[int, str] = field(default_factory=dict)  # element number -> its data-tw key
    pseudo: dict[int, dict[str, dict[str, str]]] = field(default_factory=dict)  # number -> selector -> style


def read_pass(document: str) -> Pass:
    root = html.document_fromstring(document)
    out = Pass()
    by_key: dict[str, int] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("data-tw-i") is None:
            continue
        n = int(el.get("data-tw-i"))
        out.tags[n] = el.tag
        out.styles[n] = parse_style(el.get("style"))
        if el.get("data-tw") is not None:
            out.keys[n] = el.get("data-tw")
            by_key[el.get("data-tw")] = n
    for style_el in root.iter("style"):
        for rule in tinycss2.parse_stylesheet(style_el.text or "", skip_comments=True, skip_whitespace=True):
            if rule.type != "qualified-rule":
                continue
            match = RULE.match(tinycss2.serialize(rule.prelude).strip())
            if match and match.group(1) in by_key:
                style = parse_style(tinycss2.serialize(rule.content))
                out.pseudo.setdefault(by_key[match.group(1)], {})[match.group(2)] = style
    return out


def style_delta(narrow: dict[str, str], wide: dict[str, str]) -> dict[str, str]:
    """What must change on top of `wide` to give `narrow`: new or changed values, `revert` for the rest."""
    delta = {p: v for p, v in narrow.items() if wide.get(p) != v}
    delta.update({p: REVERT for p in wide if p not in narrow})
    return delta


def apply_delta(style: dict[str, str], delta: dict[str, str]) -> dict[str, str]:
    out = dict(style)
    for p, v in delta.items():
        if v == REVERT:
            out.pop(p, None)
        else:
            out[p] = v
    return out


def correspondence_error(base: Pass, other: Pass) -> str | None:
    """Why the element numbers of two passes do not name the same elements, or None when they do."""
    if base.tags.keys() != other.tags.keys():
        return f"{len(base.tags)} elements at one width, {len(other.tags)} at the other"
    for n, tag in base.tags.items():
        if other.tags[n] != tag:
            return f"element {n} is <{tag}> at one width and <{other.tags[n]}> at the other"
    return None


@dataclass
class MediaBlock:
    query: str
    rules: list[str]


def media_blocks(passes: list[Pass], widths: list[int]) -> tuple[list[MediaBlock], set[int]]:
    """Per narrower width, the rules that turn the wider rendering into it; and the elements they name.
    Widths are in decreasing order; each block is a delta on top of every wider block (all apply there)."""
    base = passes[0]
    styles = {n: dict(s) for n, s in base.styles.items()}
    pseudo = {n: {sel: dict(s) for sel, s in rules.items()} for n, rules in base.pseudo.items()}
    blocks: list[MediaBlock] = []
    named: set[int] = set()
    for i in range(1, len(passes)):
        other = passes[i]
        rules: list[str] = []
        for n in sorted(base.tags):
            delta = style_delta(other.styles[n], styles[n])
            if delta:
                rules.append(f"@{n}{{{_decls(delta)}}}")
                styles[n] = apply_delta(styles[n], delta)
                named.add(n)
            mine, theirs = pseudo.get(n, {}), other.pseudo.get(n, {})
            for sel in sorted(set(mine) | set(theirs)):
                pdelta = style_delta(theirs.get(sel, {}), mine.get(sel, {}))
                if pdelta:
                    rules.append(f"@{n}{sel}{{{_decls(pdelta)}}}")
                    new = apply_delta(mine.get(sel, {}), pdelta)
                    pseudo.setdefault(n, {})[sel] = new
                    named.add(n)
        point = breakpoint_for(widths[i], widths[i - 1])
        blocks.append(MediaBlock(media_query(point), rules))
    return blocks, named


def _decls(style: dict[str, str]) -> str:
    return ";".join(f"{p}:{v} !important" for p, v in style.items())


def merge(documents: list[str], widths: list[int], keep_marks: bool = False) -> tuple[str, str | None]:
    """The snapshot HTML of several passes (widest first, each with `data-tw-i` numbers): the widest pass
    with a `<style data-tw-media>` of per-width rules. Returns (html, why it is single-width or None)."""
    passes = [read_pass(d) for d in documents]
    for other in passes[1:]:
        why = correspondence_error(passes[0], other)
        if why is not None:
            return strip_marks(documents[0], keep_marks), f"dom_changed: {why}"
    blocks, named = media_blocks(passes, widths)
    keys = dict(passes[0].keys)
    used = {int(k, 36) for k in keys.values()}
    next_key = max(used, default=-1) + 1
    for n in sorted(named):
        if n not in keys:
            keys[n] = _base36(next_key)
            next_key += 1

    def mark(match: re.Match[str]) -> str:
        n = int(match.group(1))
        own = match.group(0) if keep_marks else ""
        if n in named and n not in passes[0].keys:
            return f' data-tw="{keys[n]}"' + own
        return own

    document = MARK.sub(mark, documents[0])
    css = "\n".join(
        f"@media {b.query}{{" + "".join(_keyed(rule, keys) for rule in b.rules) + "}" for b in blocks if b.rules
    )
    if css:
        block = f"<style {MEDIA_STYLE_ATTR}>\n{css}\n</style>"
        at = document.find("</head>")
        document = document[:at] + block + document[at:] if at >= 0 else document
    return document, None


def _keyed(rule: str, keys: dict[int, str]) -> str:
    """`@12::before{…}` (element number) as `[data-tw="c"]::before{…}` (its key)."""
    match = re.match(r"@(\d+)", rule)
    assert match is not None
    return f'[data-tw="{keys[int(match.group(1))]}"]' + rule[match.end() :]


def strip_marks(document: str, keep_marks: bool = False) -> str:
    return document if keep_marks else MARK.sub("", document)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def media_rules(css: str) -> list[tuple[str, list[tuple[str, str, dict[str, str]]]]]:
    """A snapshot's `<style data-tw-media>` text as [(query, [(key, pseudo selector or "", style)])], the
    values as written (without `!important`). Raises ValueError on anything else."""
    out: list[tuple[str, list[tuple[str, str, dict[str, str]]]]] = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type != "at-rule" or rule.lower_at_keyword != "media" or rule.content is None:
            raise ValueError(f"unexpected rule in the media block: {tinycss2.serialize([rule])[:80]!r}")
        query = tinycss2.serialize(rule.prelude).strip()
        items = []
        for inner in tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True):
            prelude = tinycss2.serialize(inner.prelude).strip() if inner.type == "qualified-rule" else ""
            match = MEDIA_RULE.match(prelude)
            if match is None:
                raise ValueError(f"unexpected rule in @media {query}: {tinycss2.serialize([inner])[:80]!r}")
            items.append((match.group(1), match.group(2) or "", parse_style(tinycss2.serialize(inner.content))))
        out.append((query, items))
    return out

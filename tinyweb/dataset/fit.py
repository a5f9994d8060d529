"""Fit a semantic page into a token budget: a complete, shorter document, never one cut mid-tag.

Most real pages are several thousand tokens long, far past what a small model trains on. Rather than leave
such a page out of the dataset, `fit_page` condenses it, trying each step only while the page is too long:

1. Each run of whitespace becomes one newline, or one space where it had no line break (not inside `pre`,
   `textarea`, `script` or `style`): whitespace that collapses to one space renders the same however long.
2. Runs of three or more alike siblings (same tag and classes: cards, list items, table rows, gallery
   images) keep their first two.
3. The body is rebuilt from its readable units (elements that show words, a control or an image
   themselves, each kept whole): the h1 first, then h2s, h3s, other headings, then the rest, each group in
   document order, each unit taken when it fits together with the elements around it not kept yet (a
   section's wrappers are paid for once; plain `div` wrappers are unwrapped, their content taking their
   place, but never one that paints or lays out: a background (behind white text, say), a border, a
   shadow, the text colour its content inherits, flex or grid, a max-width or auto-margin container, by
   its classes' rules in the framework and its own style (`framework_keeps`). Icons' path data counts as
   nothing to read. The most the budget allows is found by bisection, each try counted with the tokenizer.

Every element that stays keeps its tag, attributes and classes, and the head stays whole but for the page's
own @font-face rules (which serve icon fonts) in step 3, so the page uses the framework as the converted page
did.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
from collections.abc import Callable, Mapping, Sequence

from lxml import html as lxml_html
from lxml.etree import _Element

from tinyweb.compress.css import CSSError, parse_declarations
from tinyweb.compress.stylesheet import stylesheet_rules

Counter = Callable[[Sequence[str]], list[int]]
Keeps = Callable[[_Element], bool]  # whether a wrapper paints or lays out, so must never be unwrapped
Style = Callable[[_Element], dict[str, str]]  # an element's declarations at the captured desktop width

KEEP_ALIKE = (2,)  # how many of a run of alike siblings to keep (tried in turn)
MIN_RUN = 3  # a run this long or longer is trimmed
SEARCH_STEPS = 12  # tries of the bisection for the largest body that fits
MIN_STEP = 40  # characters: the bisection stops when its bounds are this close
PRE_LIKE = ("pre", "textarea", "script", "style")
WHITESPACE = re.compile(r"\s{2,}|\n")


def _nothing(el: _Element) -> bool:
    return False


def fit_page(document: str, budget: int, count: Counter, keeps: Keeps = _nothing) -> str | None:
    """`document` in at most `budget` tokens (by `count`): itself when it fits, else condensed as the module
    says; None when even its head and an empty body do not fit. `keeps` names the wrappers that must stay
    (see framework_keeps); by default every `div` wrapper may be unwrapped."""
    if count([document])[0] <= budget:
        return document
    prefix = document[: document.lower().find("<html")] if "<html" in document.lower() else ""
    root = lxml_html.document_fromstring(document)
    body = root.find("body")
    if body is None:
        return None

    def text(tree: _Element) -> str:
        return prefix + lxml_html.tostring(tree, encoding="unicode")

    squeeze_whitespace(root)
    current = text(root)
    if count([current])[0] <= budget:
        return current
    for keep in KEEP_ALIKE:
        trim_runs(body, keep)
        current = text(root)
        if count([current])[0] <= budget:
            return current
    # Prune to a character budget: the largest that fits, found by bisection (each try counted). The page's
    # own @font-face rules go first: they serve icon fonts, and icons have no words to keep.
    head = root.find("head")
    for style in head.findall("style") if head is not None else []:
        _remove(style)

    def pruned(chars: int) -> str | None:
        trial = copy.deepcopy(root)
        prune(trial.find("body"), chars, keeps)
        squeeze_whitespace(trial)
        candidate = text(trial)
        return candidate if count([candidate])[0] <= budget else None

    best = pruned(0)  # the head and an empty body: if even that is too long, nothing fits
    low, high = 0, _size(body)
    for _ in range(SEARCH_STEPS):
        if best is None or high - low <= max(MIN_STEP, high // 50):
            break
        middle = (low + high) // 2
        candidate = pruned(middle)
        if candidate is not None:
            best, low = candidate, middle
        else:
            high = middle
    return best


def squeeze_whitespace(root: _Element) -> None:
    """Each run of whitespace becomes one newline (a space where it had none), outside pre-like elements."""
    keep = {el for tag in PRE_LIKE for host in root.iter(tag) for el in host.iter()}
    for el in root.iter():
        if el not in keep and el.text:
            el.text = _squeeze(el.text)
        if el.tail and el.getparent() not in keep:
            el.tail = _squeeze(el.tail)


def _squeeze(text: str) -> str:
    return WHITESPACE.sub(lambda m: "\n" if "\n" in m.group() else " ", text)


def _signature(el: _Element) -> tuple[str, str]:
    return (str(el.tag), el.get("class") or "")


def trim_runs(body: _Element, keep: int) -> None:
    """Keep the first `keep` of every run of at least MIN_RUN alike element siblings under `body`."""
    for parent in list(body.iter()):
        if not isinstance(parent.tag, str) or parent.tag in PRE_LIKE:
            continue
        run: list[_Element] = []
        for child in [*parent, None]:
            alike = child is not None and isinstance(child.tag, str) and run and _signature(child) == _signature(run[0])
            if not alike:
                if len(run) >= MIN_RUN:
                    for extra in run[keep:]:
                        _remove(extra)
                run = [child] if child is not None and isinstance(child.tag, str) else []
            else:
                run.append(child)


def _remove(el: _Element) -> None:
    """Remove `el` but keep its tail's text where it was (lxml would drop it with the element)."""
    parent = el.getparent()
    tail = el.tail
    previous = el.getprevious()
    parent.remove(el)
    if tail and tail.strip():
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _size(el: _Element) -> int:
    return len(lxml_html.tostring(el, encoding="unicode", with_tail=False))


HEADINGS = {"h1": 0, "h2": 1, "h3": 2, "h4": 3, "h5": 3, "h6": 3}  # the order units are taken in; then the rest
NOTHING_TO_READ = ("svg", "math", "script", "style", "template")  # path data and code, not words to read
CONTROLS = ("img", "input", "select", "textarea", "button", "video")


def _shows(el: _Element) -> bool:
    """Whether `el` itself shows a reader something: words of its own (or right after it, which go where it
    goes), or a control or an image."""
    if el.tag in NOTHING_TO_READ or any(a.tag in NOTHING_TO_READ for a in el.iterancestors()):
        return False
    return bool((el.text or "").strip() or (el.tail or "").strip()) or el.tag in CONTROLS


def prune(body: _Element, target: int, keeps: Keeps = _nothing) -> None:
    """Keep what is worth reading of `body` in at most `target` characters of markup, removing the rest.

    The page is rebuilt from its readable units (elements that show words or a control themselves, each kept
    whole with everything inside it): headings first, the page's h1 before h2s before h3s, then everything
    else, each group in document order. A unit is taken when it fits, together with the elements around it
    that are not kept yet, so a section's wrappers are paid for once. Plain `div` wrappers around a unit are
    unwrapped (their content stays in their place), unless `keeps` says they paint or lay out; what is
    neither taken nor around is removed."""
    elements = [el for el in body.iter() if isinstance(el.tag, str) and el is not body]
    size = {el: _size(el) + len(el.tail or "") for el in elements}
    shows = {el: _shows(el) for el in elements}
    units = [el for el in elements if shows[el] and not any(shows[a] for a in _up(el, body))]
    rank = {el: (_tier(el), i) for i, el in enumerate(units)}
    plain = {el for el in elements if el.tag in UNWRAPPED and not keeps(el)}
    whole: set[_Element] = set()
    around: set[_Element] = set()
    total = _size(body) - sum(size[c] for c in body if isinstance(c.tag, str))
    for unit in sorted(units, key=rank.__getitem__):
        chain = [a for a in _up(unit, body) if a not in around and a not in plain]
        cost = size[unit] + sum(_shell(a, size) for a in chain)
        if total + cost <= target:
            whole.add(unit)
            around.update(chain)
            total += cost
    holders = {a for unit in whole for a in _up(unit, body)}
    unwrap = []
    for el in elements:
        if el in whole or el in around or any(a in whole for a in _up(el, body)):
            continue
        if el in holders:
            unwrap.append(el)
        elif _attached(el, body):
            el.getparent().remove(el)
    for el in reversed(unwrap):
        el.drop_tag()


UNWRAPPED = ("div",)  # wrappers that do not survive condensing (unless they paint or lay out)
NO_PAINT = {"none", "transparent", "initial", "unset", "0", "0px", "rgba(0,0,0,0)", "#0000", "#00000000"}
LAYOUT_DISPLAYS = {"flex", "inline-flex", "grid", "inline-grid"}


def paints_or_lays_out(decls: Mapping[str, str]) -> bool:
    """Whether declarations paint something (a background, a border, a shadow, a text colour: the capture
    drops what a child inherits, so the child's text relies on it) or lay their content out (flex, grid, a
    max-width or auto-margin container); shorthands too."""
    for prop, value in decls.items():
        value = value.removesuffix(" !important").strip().lower()
        words = set(value.split())
        if prop in ("background", "background-color", "background-image", "box-shadow") and value not in NO_PAINT:
            return True
        # border, border-top, border-style, border-left-width, …: a drawn line unless none or zero-width
        border = prop.startswith("border") and not prop.endswith(("radius", "collapse", "spacing", "color", "image"))
        if border and value not in NO_PAINT and not words & {"none", "hidden"} and not value.startswith(("0 ", "0px ")):
            return True
        if prop == "color" or (prop == "display" and value in LAYOUT_DISPLAYS):
            return True
        if prop == "max-width" and value not in NO_PAINT:
            return True
        if prop in ("margin", "margin-left", "margin-right", "margin-inline") and "auto" in words:
            return True
    return False


def framework_style(css: str) -> Style:
    """An element's declarations at the captured desktop width: its classes' base rules in the framework, then
    its own residual style (decided once per class list and style)."""
    rules = stylesheet_rules(css) if css else {}

    @functools.cache
    def resolve(classes: str, style: str) -> tuple[tuple[str, str], ...]:
        decls: dict[str, str] = {}
        for name in classes.split():
            if name in rules:
                decls.update(rules[name].base)
        with contextlib.suppress(CSSError):
            decls.update(parse_declarations(style))
        return tuple((p, v.removesuffix(" !important").strip().lower()) for p, v in decls.items())

    return lambda el: dict(resolve(el.get("class") or "", el.get("style") or ""))


def framework_keeps(css: str) -> Keeps:
    """`keeps` for pages that use the framework in `css`: an element paints or lays out by the base rules of
    its classes together with its own residual style (framework_style: decided once per class list and style,
    as the bisection asks again for every copy of the page it tries)."""
    style = framework_style(css)
    return lambda el: paints_or_lays_out(style(el))


def _up(el: _Element, body: _Element) -> list[_Element]:
    """The ancestors of `el` below `body`."""
    out = []
    for a in el.iterancestors():
        if a is body:
            break
        out.append(a)
    return out


def _shell(el: _Element, size: dict[_Element, int]) -> int:
    """The characters of `el` less those of its element children: its tags, its own text, its tail."""
    return size[el] - sum(size[c] for c in el if isinstance(c.tag, str))


def _tier(el: _Element) -> int:
    """Which units are taken first: the h1, then h2, h3, other headings, then everything else."""
    heading = next((str(a.tag) for a in (el, *el.iterancestors()) if a.tag in HEADINGS), None)
    return HEADINGS[heading] if heading else len(set(HEADINGS.values()))


def _attached(el: _Element, body: _Element) -> bool:
    return any(a is body for a in el.iterancestors())

"""A semantic page as sections: its top-level visual blocks, each able to render alone, and its shell.

A page is cut where its containers stack their children vertically (block flow, a flex column, a one-column
grid: removing a sibling there leaves the others' widths alone), never inside a row (flex or grid rows, floats,
inline content), whose children size each other. From `<body>`, the cut descends into a child when it is longer
than the section budget or when it holds two or more landmarks (header, nav, main, section, article, aside,
form, footer, or a painted block of some size): so `main`'s children become sections and a wrapper around the
whole page is looked through. A child longer than the budget first has its runs of alike siblings (cards, rows,
list items) trimmed to three, so a grid stays a grid; if it is still too long and stacks, the cut goes on
inside it; a row still too long is condensed (tinyweb.dataset.fit) to the budget.

What the notes on rendering sections alone showed (`../shared/notes/sections.md`) is built in:
- An absolutely positioned or fixed child belongs with the block it is drawn over: the next one (a navbar over
  its hero), else the one before.
- Thin or empty blocks (separators, spacers) are not sections: they join a neighbour, as do small runs of
  plain content under a container that was cut for length (paragraphs of a long article go in groups up to
  the budget).

Each section keeps its **ancestor chain**: every element between `<body>` and the section, with its tag, classes
and residual style but none of its other children. The capture leaves out inherited values equal to the
parent's, so the chain is what carries the page's fonts, colours, backgrounds and containers to the section.
A section's text (what the model writes) is its chain around its blocks, whitespace squeezed; its document is
that text in the page's shell: the doctype, `<html>` with its attributes, the page's `<head>`, and `<body>`
with its own attributes. Sections of one page assembled again (`assemble`) share the chain elements they have
in common, so a page comes back together in its original nesting.
"""

from __future__ import annotations

import copy
import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lxml import html as lxml_html
from lxml.etree import _Element

from tinyweb.dataset.describe import describe
from tinyweb.dataset.fit import Keeps, Style, paints_or_lays_out, prune, squeeze_whitespace, trim_runs

Counter = Callable[[Sequence[str]], list[int]]

SECTION_BUDGET = 512  # tokens of a section's text: what a small model trains on beside its prompt, and writes
INTRO_WORDS = 40  # a title block (heading and a line) this short opens the block after it
MIN_SECTION = 40  # tokens: a block this small (or with nothing to see) joins a neighbour
MAX_SECTIONS = 8  # a plan's sections at most
CONDENSE_TRIES = 12  # each a quarter shorter than the one before
KEEP_ALIKE = 3  # a run of alike siblings in a block over the budget keeps this many
LANDMARK_TAGS = {"header", "nav", "main", "section", "article", "aside", "form", "footer"}
LANDMARK_ROLES = {"banner", "navigation", "main", "region", "complementary", "contentinfo", "form", "search"}
SKIPPED = {"script", "style", "template", "noscript", "link", "meta", "base", "title"}
VISIBLE = {"img", "svg", "video", "canvas", "picture", "iframe", "input", "button", "select", "textarea", "hr"}
BLOCK_TAGS = {
    "div", "section", "main", "article", "header", "footer", "nav", "aside", "form", "ul", "ol", "dl", "menu",
    "fieldset", "figure", "blockquote", "address", "details", "body", "center", "hgroup", "search",
}  # fmt: skip
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6", "hgroup"}
TABLE_STACKS = {"table", "tbody", "thead", "tfoot"}
# children laid out side by side: inline content, and table cells (a row, if anonymous)
SIDE_BY_SIDE = {"inline", "inline-block", "inline-flex", "inline-grid", "inline-table", "table-cell", "table-column"}


# --- styles at the widest width ---------------------------------------------------------------------------------


def display_of(el: _Element, style: Style) -> str:
    """The element's display at the desktop width: its declarations', else its tag's default."""
    value = style(el).get("display")
    if value:
        return value.split()[-1] if value.startswith("block ") else value
    tag = str(el.tag)
    if tag in BLOCK_TAGS or tag in {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"}:
        return "block"
    return {"li": "list-item", "table": "table", "tr": "table-row", "td": "table-cell", "th": "table-cell"}.get(
        tag, "table-row-group" if tag in TABLE_STACKS else "inline"
    )


def positioned(el: _Element, style: Style) -> bool:
    """Taken out of the flow: drawn over whatever block is where it is placed."""
    return style(el).get("position") in ("absolute", "fixed")


def flow_children(el: _Element, style: Style) -> list[_Element]:
    return [c for c in el if isinstance(c.tag, str) and str(c.tag) not in SKIPPED]


def stacks(el: _Element, style: Style) -> bool:
    """Whether `el` lays its children out one under another, so any of them can be taken out alone."""
    if (el.text or "").strip() or any((c.tail or "").strip() for c in el):
        return False  # words between the children: prose, not blocks
    decls, display = style(el), display_of(el, style)
    if "column-count" in decls or "columns" in decls:
        return False
    if display in ("flex", "inline-flex"):
        if not decls.get("flex-direction", "row").startswith("column"):
            return False
    elif display in ("grid", "inline-grid"):
        if not one_column(decls.get("grid-template-columns", "none")):
            return False
    elif display not in ("block", "flow-root", "list-item", "table", "table-row-group", "contents"):
        return False
    for child in flow_children(el, style):
        if positioned(child, style):
            continue
        if style(child).get("float", "none") != "none" or display_of(child, style) in SIDE_BY_SIDE:
            return False
    return True


def one_column(columns: str) -> bool:
    """Whether a grid-template-columns value makes one column: none, one track, or repeat(1, …)."""
    columns = re.sub(r"\[[^\]]*\]", " ", columns).strip()  # line names are not tracks
    if columns in ("none", ""):
        return True
    if columns.startswith("repeat("):
        return columns.removeprefix("repeat(").split(",")[0].strip() == "1"
    depth, tracks, inside = 0, 0, False
    for ch in columns:  # tracks at the top level: minmax(0, 1fr) is one
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch.isspace() and depth == 0:
            inside = False
            continue
        if depth == 0 and not inside and not ch.isspace():
            tracks, inside = tracks + 1, True
    return tracks <= 1


def landmark(el: _Element, style: Style, tokens: int) -> bool:
    """A block a person would call a part of the page."""
    if str(el.tag) in LANDMARK_TAGS or (el.get("role") or "") in LANDMARK_ROLES:
        return True
    return tokens >= MIN_SECTION and paints_or_lays_out(
        {p: v for p, v in style(el).items() if p.startswith(("background", "border", "box-shadow"))}
    )


def visible(el: _Element) -> bool:
    """Whether anything in `el` shows: words, an image, a control, a rule."""
    return bool(" ".join(el.itertext()).strip()) or any(str(d.tag) in VISIBLE for d in el.iter())


# --- cutting ------------------------------------------------------------------------------------------------------


@dataclass
class Block:
    """One section before it is written out: consecutive siblings under one chain."""

    chain: list[_Element]  # from the outermost ancestor under <body> to the section's parent
    roots: list[_Element]
    tokens: int
    landmark: bool = False
    overlay: bool = False  # only positioned roots so far: waiting for the block they are drawn over
    before: list[Block] = field(default_factory=list)  # overlays under another chain, drawn over this block

    def joins(self, other: Block) -> bool:
        return len(self.chain) == len(other.chain) and all(a is b for a, b in zip(self.chain, other.chain, strict=True))


def _joined(a: Block, b: Block) -> Block:
    """Two blocks under one chain as one, `a` first."""
    return Block(
        a.chain, [*a.roots, *b.roots], a.tokens + b.tokens, a.landmark or b.landmark, False, a.before + b.before
    )


@dataclass
class Cutter:
    style: Style
    size: Callable[[list[_Element]], int]  # tokens of the markup of these elements
    budget: int = SECTION_BUDGET

    def cut(self, container: _Element, chain: list[_Element], for_length: bool) -> list[Block]:
        """The blocks of `container`, which stacks; `for_length`: it was cut because it is too long."""
        blocks: list[Block] = []
        for child in flow_children(container, self.style):
            tokens = self.size([child])
            if positioned(child, self.style):
                blocks.append(Block(chain, [child], tokens, overlay=True))
                continue
            inner = self.inner(child, chain, tokens)
            if inner is not None:
                blocks.extend(inner)
            else:
                blocks.append(Block(chain, [child], tokens, landmark(child, self.style, tokens)))
        return self.merge(blocks, for_length)

    def inner(self, child: _Element, chain: list[_Element], tokens: int) -> list[Block] | None:
        """`child`'s own blocks when it is to be cut further, else None (it is one block): when it stacks and is
        too long even with its runs trimmed, or holds two or more landmarks (looking through wrappers)."""
        if not stacks(child, self.style) or self.overlaid(child):
            return None
        if tokens > self.budget and self.trimmed_size(child) > self.budget:
            return self.cut(child, [*chain, child], for_length=True)
        el = child
        while True:
            kids = [k for k in flow_children(el, self.style) if not positioned(k, self.style)]
            if len(kids) != 1 or not stacks(kids[0], self.style):
                break
            el = kids[0]
        if sum(landmark(k, self.style, self.size([k])) for k in kids) >= 2:
            return self.cut(child, [*chain, child], for_length=False)
        return None

    def overlaid(self, el: _Element) -> bool:
        """Whether `el` draws some of its children over others (a carousel, a hero under its navbar): those
        children are kept together. Small positioned ones (a skip link, a badge) do not count."""
        return any(positioned(k, self.style) and self.size([k]) >= MIN_SECTION for k in flow_children(el, self.style))

    def trimmed_size(self, el: _Element) -> int:
        trial = copy.deepcopy(el)
        trim_runs(trial, KEEP_ALIKE)
        return self.size([trial])

    def merge(self, blocks: list[Block], for_length: bool) -> list[Block]:
        """Overlays onto the block they are drawn over; thin blocks, and under a container cut for length plain
        neighbours, into one another while they fit the budget."""
        out: list[Block] = []
        waiting: list[Block] = []
        for block in blocks:
            if block.overlay:
                waiting.append(block)
                continue
            for over in waiting:
                if over.joins(block):
                    block = _joined(over, block)
                else:  # drawn over a block inside a sibling that was cut: they go in its section, before it
                    block.before = [*block.before, over]
            waiting = []
            previous = out[-1] if out else None
            if previous is not None and previous.joins(block) and self.mergeable(previous, block, for_length):
                out[-1] = _joined(previous, block)
            else:
                out.append(block)
        for over in waiting:  # nothing after them: they go with the block before
            if out and out[-1].joins(over):
                out[-1] = _joined(out[-1], over)
            else:
                out.append(Block(over.chain, over.roots, over.tokens))
        return out

    def mergeable(self, a: Block, b: Block, for_length: bool) -> bool:
        """Whether `b` joins `a`, the block before it: a heading stays with what it introduces, whatever the
        length (a section too long is condensed); thin blocks and plain neighbours join while they fit."""
        if self.intro(a) and not b.landmark:
            return True
        if self.intro(b):  # it opens what follows it: it waits for that
            return False
        if min(a.tokens, b.tokens) < MIN_SECTION:
            return True
        if a.tokens + b.tokens > self.budget:
            return False
        return self.thin(a) or self.thin(b) or (for_length and not a.landmark and not b.landmark)

    def intro(self, block: Block) -> bool:
        """A heading, or a title block (a heading and a line or two, nothing else to see), that opens the
        block after it."""
        if all(str(r.tag) in HEADINGS for r in block.roots):
            return True
        if len(block.roots) != 1 or block.tokens > self.budget // 2:
            return False
        root = block.roots[0]
        words = len(" ".join(root.itertext()).split())
        has_heading = any(str(el.tag) in HEADINGS for el in root.iter())
        return has_heading and words <= INTRO_WORDS and not any(str(el.tag) in VISIBLE for el in root.iter())

    def thin(self, block: Block) -> bool:
        """Too small to be a part of the page on its own, or nothing in it shows at this width."""
        return block.tokens < MIN_SECTION or not any(
            visible(r) and display_of(r, self.style) != "none" for r in block.roots
        )


# --- sections written out -------------------------------------------------------------------------------------


@dataclass
class Shell:
    """What every section of a page is written into."""

    doctype: str
    html_attrs: dict[str, str]
    head: str  # the page's <head> element, whole
    body_attrs: dict[str, str]
    title: str = ""

    def tags(self) -> tuple[str, str]:
        """The `<html …>` and `<body …>` opening tags, as a plan writes them."""
        return f"<html{_attrs(self.html_attrs)}>", f"<body{_attrs(self.body_attrs)}>"

    def document(self, inner: str) -> str:
        return (
            f"{self.doctype}\n<html{_attrs(self.html_attrs)}>{self.head}<body{_attrs(self.body_attrs)}>\n"
            f"{inner}\n</body></html>\n"
        )


@dataclass
class Section:
    index: int
    text: str  # the chain around the blocks: what the model writes
    whole: str  # the same before trimming and condensing: what renders like the page's own region
    roots: list[str]  # each root's path in the page: child indices from <body>, "2.0.3"
    blocks: list[Block] = field(repr=False)  # what it was written from, in the page's own tree
    tokens: int = 0
    trimmed: bool = False  # runs of alike siblings were cut to KEEP_ALIKE
    condensed: bool = False  # still too long after that: condensed by fit
    label: str = ""

    @property
    def elements(self) -> list[_Element]:
        """The section's roots in the page's own tree."""
        return [r for block in self.blocks for r in block.roots]

    @property
    def chain_tags(self) -> list[str]:
        """The tags of the first block's chain, outermost first."""
        return [str(a.tag) for a in self.blocks[0].chain]


@dataclass
class PageSections:
    shell: Shell
    sections: list[Section]


def _attrs(attrs: dict[str, str]) -> str:
    from html import escape

    return "".join(f' {k}="{escape(v, quote=True)}"' for k, v in attrs.items())


def path_of(el: _Element, body: _Element) -> str:
    steps = []
    while el is not body:
        parent = el.getparent()
        steps.append(str([c for c in parent if isinstance(c.tag, str)].index(el)))
        el = parent
    return ".".join(reversed(steps))


def shell_of(root: _Element, prefix: str) -> Shell:
    head = root.find("head")
    body = root.find("body")
    title = head.findtext("title") if head is not None else ""
    return Shell(
        doctype=prefix.strip() or "<!DOCTYPE html>",
        html_attrs=dict(root.attrib),
        head=lxml_html.tostring(head, encoding="unicode", with_tail=False) if head is not None else "<head></head>",
        body_attrs=dict(body.attrib) if body is not None else {},
        title=" ".join((title or "").split()),
    )


def write_block(block: Block) -> _Element | list[_Element]:
    """The block's roots (deep copies) inside shallow copies of its chain."""
    roots = [copy.deepcopy(r) for r in block.roots]
    for r in roots:
        r.tail = "\n"
    for ancestor in reversed(block.chain):
        holder = lxml_html.Element(str(ancestor.tag), dict(ancestor.attrib))
        holder.text = "\n"
        holder.extend(roots)
        roots = [holder]
    return roots


def serialize(elements: list[_Element]) -> str:
    return "".join(lxml_html.tostring(e, encoding="unicode", with_tail=True) for e in elements).strip()


def split_page(
    document: str, style: Style, count: Counter, keeps: Keeps, budget: int = SECTION_BUDGET
) -> PageSections | None:
    """The page's shell and sections (see the module docstring); None when it has no body or nothing in it.
    `style` resolves an element's declarations (framework_style), `keeps` says which wrappers condensing must
    keep (tinyweb.dataset.fit.framework_keeps)."""
    prefix = document[: document.lower().find("<html")] if "<html" in document.lower() else ""
    root = lxml_html.document_fromstring(document)
    body = root.find("body")
    if body is None or not flow_children(body, style):
        return None

    @functools.cache
    def tokens_of(markup: str) -> int:
        return count([markup])[0]

    # By the elements' ids, the elements kept alive beside their size: lxml makes a new Python object for an
    # element it hands out again once the old one is freed, and a freed object's id can be reused.
    sizes: dict[tuple[int, ...], tuple[list[_Element], int]] = {}

    def size(elements: list[_Element]) -> int:
        key = tuple(id(e) for e in elements)
        if key not in sizes:
            sizes[key] = (list(elements), _size(elements))
        return sizes[key][1]

    def _size(elements: list[_Element]) -> int:
        trial = [copy.deepcopy(e) for e in elements]
        holder = lxml_html.Element("div")
        holder.extend(trial)
        squeeze_whitespace(holder)
        return tokens_of(serialize(list(holder)))

    cutter = Cutter(style, size, budget)
    if stacks(body, style):
        blocks = cutter.cut(body, [], for_length=False)
    else:  # a row from the top (a sidebar beside the content): one block, condensed to the budget if need be
        kids = flow_children(body, style)
        blocks = [Block([], kids, size(kids), landmark=True)]
    groups = [[*b.before, b] for b in blocks if b.roots]
    while len(groups) > MAX_SECTIONS:  # the plan's limit: the smallest neighbours become one section
        sums = [sum(b.tokens for b in g) + sum(b.tokens for b in h) for g, h in itertools.pairwise(groups)]
        at = sums.index(min(sums))
        groups[at : at + 2] = [groups[at] + groups[at + 1]]
    sections = [write_section(group, body, count, budget, keeps) for group in groups]
    sections = [s for s in sections if s.text]
    for i, section in enumerate(sections):
        section.index = i
        section.label = label_of(section.text, style, i, len(sections))
    return PageSections(shell_of(root, prefix), sections)


def label_of(text: str, style: Style, position: int, total: int) -> str:
    """The label of a section from what its text holds (after trimming and condensing): its blocks inside the
    wrappers around them (tinyweb.dataset.describe)."""
    holder = lxml_html.fragment_fromstring(text, create_parent="div")
    chain: list[_Element] = []
    roots = [c for c in holder if isinstance(c.tag, str)]
    while len(roots) == 1 and _wrapper(roots[0]) and str(roots[0].tag) not in LANDMARK_TAGS:
        chain.append(roots[0])
        roots = [c for c in roots[0] if isinstance(c.tag, str)]
    return describe(roots or [holder], chain, style, position, total)


def write_whole(group: list[Block]) -> str:
    """The blocks in their chains, whitespace squeezed, nothing trimmed or condensed."""
    holder = lxml_html.Element("div")
    for block in group:
        holder.extend(write_block(block))
    squeeze_whitespace(holder)
    return serialize(list(holder))


def write_section(group: list[Block], body: _Element, count: Counter, budget: int, keeps: Keeps) -> Section:
    """One section from consecutive blocks: each written in its chain, then, over the budget, its runs of alike
    siblings trimmed and, still over, condensed."""
    whole = text = write_whole(group)
    holder = lxml_html.fragment_fromstring(text, create_parent="div")
    trimmed = condensed = False
    tokens = count([text])[0]
    if tokens > budget:
        trim_runs(holder, KEEP_ALIKE)
        trimmed_text = serialize(list(holder))
        trimmed = trimmed_text != text
        text, tokens = trimmed_text, count([trimmed_text])[0]
    if tokens > budget:
        target = len(text) * budget // tokens
        for _ in range(CONDENSE_TRIES):
            trial = copy.deepcopy(holder)
            prune(trial, target, keeps)
            squeeze_whitespace(trial)
            candidate = serialize(list(trial))
            n = count([candidate])[0]
            if n <= budget and candidate:
                text, tokens, condensed = candidate, n, True
                break
            target = target * 3 // 4
    return Section(
        index=0,
        text=text,
        whole=whole,
        roots=[path_of(r, body) for block in group for r in block.roots],
        blocks=list(group),
        tokens=tokens,
        trimmed=trimmed,
        condensed=condensed,
    )


# --- putting sections back together ------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def assemble(parts: list[str]) -> str:
    """The body's inner markup from section texts in order: a part's outer wrappers (its elements with one
    element child and no words of their own, from the top) merge into the previous part's wrappers when they
    open the same way (same tag and attributes), so sections cut from one container go back into one container;
    what is inside the wrappers is appended there. Words a part holds outside any element get a `div`, so every
    part gives at least one element."""
    body = lxml_html.Element("body")
    wrappers: set[_Element] = set()  # elements of the assembled body that came as a part's wrappers
    for part in parts:
        if not part.strip():
            continue
        holder = lxml_html.fragment_fromstring(part, create_parent="div")
        if not len(holder) or (holder.text or "").strip():  # words outside any element: they get one
            loose = lxml_html.Element("div")
            loose.text, holder.text = holder.text, None
            holder.insert(0, loose)
        target, elements = body, [c for c in holder if isinstance(c.tag, str)]
        while len(elements) == 1 and _wrapper(elements[0]):
            el = elements[0]
            last = target[-1] if len(target) else None
            if last is None or last not in wrappers or last.tag != el.tag or dict(last.attrib) != dict(el.attrib):
                break
            target, elements = last, list(el)
        for el in elements:
            target.append(el)
            while _wrapper(el):
                wrappers.add(el)
                el = el[0]
    squeeze_whitespace(body)
    return (body.text or "") + "".join(lxml_html.tostring(c, encoding="unicode", with_tail=True) for c in body)


def _wrapper(el: _Element) -> bool:
    kids = [c for c in el if isinstance(c.tag, str)]
    return (
        isinstance(el.tag, str)
        and str(el.tag) not in VOID
        and len(kids) == 1
        and not (el.text or "").strip()
        and not (kids[0].tail or "").strip()
    )

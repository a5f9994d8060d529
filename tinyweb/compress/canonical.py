"""Canonical values: the cleaned pages' near-equal colours and lengths made equal, so that style sets differing
only slightly become one class. Lossy by design, within stated bounds, and checked against them.

The scales are the corpus's own. Every px length of a scaled property and every colour in the cleaned pages'
declarations (inline styles, pseudo-element rules and per-width rules) is counted; then, most used first,
each value joins the first-met, most used centre within its bound, or becomes a centre itself:
- lengths, per scale (spacing: margins, paddings, gaps, offsets; type: font sizes, line heights, letter
  and word spacing, indents; radius; line: border and outline widths; shadow: the lengths inside shadows):
  within LENGTH_PX or LENGTH_SHARE of the value, whichever is larger, and never across zero;
- colours: within CIEDE2000 COLOUR_DELTA (coloraide), at the same alpha (± ALPHA_DELTA).
Sizes (widths, heights), positions and transforms are left alone: a few pixels there move everything after.

`within_bounds(prop, original, canonical)` says whether one declaration's canonical value is within those
bounds of its original — the per-element proof of this mode. A value the scales do not cover is unchanged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import tinycss2
from lxml import html as lxml_html

from tinyweb.compress.css import normalize_value, parse_declarations, style_text
from tinyweb.compress.styles import page_doctype

LENGTH_PX = 2.0
LENGTH_SHARE = 0.05
COLOUR_DELTA = 3.0
ALPHA_DELTA = 0.02

SCALES: list[tuple[str, re.Pattern[str]]] = [
    ("spacing", re.compile(r"^(margin|padding|gap|row-gap|column-gap|inset|top|right|bottom|left)(-.*)?$")),
    ("type", re.compile(r"^(font-size|line-height|letter-spacing|word-spacing|text-indent)$")),
    ("radius", re.compile(r"^border(-[a-z]+)*-radius$")),
    ("line", re.compile(r"^(border(-[a-z]+)*-width|outline-width|outline-offset|column-rule-width)$")),
    ("shadow", re.compile(r"^(box-shadow|text-shadow)$")),
]
LENGTH = re.compile(r"(?<![\w.#-])(-?(?:\d+\.?\d*|\.\d+))px\b")
COLOUR = re.compile(r"(?<![\w(])(?:#[0-9a-f]{6}\b|#[0-9a-f]{3}\b|rgba\(\d{1,3},\d{1,3},\d{1,3},[\d.]+\))")


def scale_of(prop: str) -> str | None:
    """The scale a property's px lengths are snapped on, or None (left as they are)."""
    return next((name for name, pattern in SCALES if pattern.match(prop)), None)


def _length_text(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    return (text[1:] if text.startswith("0.") else "-" + text[2:] if text.startswith("-0.") else text) + "px"


def length_bound(value: float) -> float:
    return max(LENGTH_PX, LENGTH_SHARE * abs(value))


def _rgba(text: str) -> tuple[int, int, int, float]:
    if text.startswith("#"):
        digits = text[1:] if len(text) == 7 else "".join(c * 2 for c in text[1:])
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), 1.0
    r, g, b, a = text[5:-1].split(",")
    return int(r), int(g), int(b), float(a)


def colour_distance(a: str, b: str) -> float:
    """CIEDE2000 between two colours as the cleaned pages write them (#hex, rgba()); inf across alphas."""
    from coloraide import Color

    (r1, g1, b1, a1), (r2, g2, b2, a2) = _rgba(a), _rgba(b)
    if abs(a1 - a2) > ALPHA_DELTA:
        return float("inf")
    return Color("srgb", [r1 / 255, g1 / 255, b1 / 255]).delta_e(
        Color("srgb", [r2 / 255, g2 / 255, b2 / 255]), method="2000"
    )


def _lab(colours: list[str]) -> np.ndarray:
    from coloraide import Color

    return np.array([Color("srgb", [c / 255 for c in _rgba(x)[:3]]).convert("lab").coords() for x in colours])


@dataclass
class Scales:
    """What each counted value becomes: lengths per scale, colours; and how many values each merged."""

    lengths: dict[str, dict[float, float]] = field(default_factory=dict)
    colours: dict[str, str] = field(default_factory=dict)

    def canonical(self, prop: str, value: str) -> str:
        """The declaration's value with its colours and (for a scaled property) its px lengths canonical."""
        value = COLOUR.sub(lambda m: self.colours.get(m.group(0), m.group(0)), value)
        scale = self.lengths.get(scale_of(prop) or "")
        if scale:
            value = LENGTH.sub(lambda m: _length_text(scale.get(float(m.group(1)), float(m.group(1)))), value)
        return value

    def summary(self) -> dict[str, int]:
        """Distinct values before and after, per scale and for colours."""
        out = {f"{name}_lengths": len(m) for name, m in self.lengths.items()}
        out |= {f"{name}_centres": len(set(m.values())) for name, m in self.lengths.items()}
        return out | {"colours": len(self.colours), "colour_centres": len(set(self.colours.values()))}


def _snap_lengths(counts: Counter[float]) -> dict[float, float]:
    centres: list[float] = []
    mapping: dict[float, float] = {}
    for value in sorted(counts, key=lambda v: (-counts[v], v)):
        near = [c for c in centres if abs(c - value) <= length_bound(value) and (c > 0) == (value > 0) and c != 0]
        if value != 0 and near:
            mapping[value] = min(near, key=lambda c: (abs(c - value), -counts[c]))
        else:
            centres.append(value)
            mapping[value] = value
    return mapping


def _snap_colours(counts: Counter[str]) -> dict[str, str]:
    order = sorted(counts, key=lambda c: (-counts[c], c))
    lab = _lab(order) if order else np.zeros((0, 3))
    alpha = np.array([_rgba(c)[3] for c in order])
    centres: list[int] = []
    mapping: dict[str, str] = {}
    for i, colour in enumerate(order):
        best = None
        if centres:
            idx = np.array(centres)
            # CIEDE2000 ≤ 3 lies well inside a Lab distance of 12: only those are measured exactly.
            close = idx[(np.linalg.norm(lab[idx] - lab[i], axis=1) <= 12) & (np.abs(alpha[idx] - alpha[i]) <= 0.02)]
            scored = [(colour_distance(colour, order[c]), c) for c in close]
            scored = [(d, c) for d, c in scored if d <= COLOUR_DELTA]
            if scored:
                best = min(scored)[1]
        if best is None:
            centres.append(i)
            mapping[colour] = colour
        else:
            mapping[colour] = order[best]
    return mapping


def build_scales(declarations: Iterable[tuple[str, str]]) -> Scales:
    """The corpus's scales from every (property, value) of its cleaned pages (see the module docstring)."""
    lengths: dict[str, Counter[float]] = {}
    colours: Counter[str] = Counter()
    for prop, value in declarations:
        colours.update(COLOUR.findall(value))
        if scale := scale_of(prop):
            lengths.setdefault(scale, Counter()).update(float(v) for v in LENGTH.findall(value))
    return Scales(
        lengths={name: _snap_lengths(counts) for name, counts in sorted(lengths.items())},
        colours=_snap_colours(colours),
    )


def within_bounds(prop: str, original: str, canonical: str) -> bool:
    """Whether `canonical` is `original` with each colour within CIEDE2000 COLOUR_DELTA (same alpha) and, for a
    scaled property, each px length within its bound — everything else unchanged."""
    if original == canonical:
        return True
    shape = [LENGTH.sub("L", COLOUR.sub("C", v)) for v in (original, canonical)]
    if shape[0] != shape[1]:
        return False
    colours = zip(COLOUR.findall(original), COLOUR.findall(canonical), strict=True)  # the same shape: as many
    if any(colour_distance(a, b) > COLOUR_DELTA for a, b in colours):
        return False
    lengths = [[float(v) for v in LENGTH.findall(text)] for text in (original, canonical)]
    pairs = list(zip(*lengths, strict=True))
    if scale_of(prop) is None:
        return all(a == b for a, b in pairs)
    return all(abs(a - b) <= length_bound(a) + 1e-9 and (a > 0) == (b > 0) for a, b in pairs)


# --- the pages ---------------------------------------------------------------------------------------------------


def _declaration_lists(css: str) -> Iterable[str]:
    """The text of every declaration list in a style sheet (rule bodies, inside @media too; not @font-face)."""
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "qualified-rule":
            yield tinycss2.serialize(rule.content)
        elif rule.type == "at-rule" and rule.lower_at_keyword == "media" and rule.content is not None:
            yield from _declaration_lists(tinycss2.serialize(rule.content))


def page_declarations(document: str) -> Iterable[tuple[str, str]]:
    """Every (property, normalised value) of a cleaned page: its elements' styles and its style blocks' rules."""
    root = lxml_html.document_fromstring(document)
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("style"):
            yield from parse_declarations(el.get("style")).items()
    for block in root.iter("style"):
        for body in _declaration_lists(block.text or ""):
            yield from parse_declarations(body).items()


def _rewrite_rules(css: str, scales: Scales) -> str:
    out = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "qualified-rule":
            body = []
            for node in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
                if node.type != "declaration":
                    body.append(tinycss2.serialize([node]))
                    continue
                prop = node.name if node.name.startswith("--") else node.lower_name
                value = scales.canonical(prop, normalize_value(prop, node.value))
                body.append(f"{node.name}:{value}{' !important' if node.important else ''}")
            out.append(f"{tinycss2.serialize(rule.prelude).strip()}{{{';'.join(body)}}}")
        elif rule.type == "at-rule" and rule.lower_at_keyword == "media" and rule.content is not None:
            inner = _rewrite_rules(tinycss2.serialize(rule.content), scales)
            out.append(f"@media {tinycss2.serialize(rule.prelude).strip()}{{{inner}}}")
        else:
            out.append(tinycss2.serialize([rule]))
    return "\n".join(out)


def canonical_page(document: str, scales: Scales) -> str:
    """A cleaned page with its values canonical: style attributes and style blocks rewritten, nothing else."""
    root = lxml_html.document_fromstring(document)
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("style"):
            decls = parse_declarations(el.get("style"))
            el.set("style", style_text(sorted((k, scales.canonical(k, v)) for k, v in decls.items())))
    for block in root.iter("style"):
        block.text = _rewrite_rules(block.text or "", scales)
    return lxml_html.tostring(root, encoding="unicode", doctype=page_doctype(document, root))

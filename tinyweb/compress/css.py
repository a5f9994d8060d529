"""CSS declarations, normalised so that equal styles compare (and tokenise) equal.

A style is a `Style`: an ordered tuple of (property, value) pairs in canonical order. Normalising
(`normalize_style`) parses with tinycss2 and rewrites only forms that mean the same to the browser:

- numbers that Chromium printed from a 32-bit float (`19.2000007629px`) are written in the shortest form that
  rounds to the same float (`19.2px`); `0.5` becomes `.5`, `1.0` becomes `1`, `0px` becomes `0`;
- `rgb()`/`rgba()` and hex colours become short lowercase hex (`#fffaf3`, `#fff`), `rgba(0,0,0,0)` becomes
  `transparent`;
- whitespace is collapsed and dropped after commas;
- complete sets of longhands fold into their shorthand (`margin: 0 auto`, `border: 1px solid #ddd`,
  `inset`, `gap`, `overflow`, `border-radius`, `outline`, `flex`, `flex-flow`, `text-decoration`). Only
  shorthands of non-inherited properties are folded, so a reset sub-property can never differ from what the
  element inherited;
- properties are sorted by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np
import tinycss2
from tinycss2 import ast

Style = tuple[tuple[str, str], ...]

# Properties where a bare `0` would mean something else than `0px` (or is invalid).
_KEEP_ZERO_UNIT = {"line-height", "tab-size", "flex", "flex-basis"}
_LENGTH_UNITS = {"px"}

SIDES = ("top", "right", "bottom", "left")
CORNERS = ("top-left", "top-right", "bottom-right", "bottom-left")

# shorthand -> longhands in the shorthand's own value order (4-value box shorthands)
BOX_SHORTHANDS: dict[str, tuple[str, ...]] = {
    "margin": tuple(f"margin-{s}" for s in SIDES),
    "padding": tuple(f"padding-{s}" for s in SIDES),
    "inset": SIDES,
    "border-width": tuple(f"border-{s}-width" for s in SIDES),
    "border-style": tuple(f"border-{s}-style" for s in SIDES),
    "border-color": tuple(f"border-{s}-color" for s in SIDES),
    "border-radius": tuple(f"border-{c}-radius" for c in CORNERS),
}
# shorthand -> longhands, all required, joined with spaces in this order
JOINED_SHORTHANDS: dict[str, tuple[str, ...]] = {
    "gap": ("row-gap", "column-gap"),
    "overflow": ("overflow-x", "overflow-y"),
    "outline": ("outline-width", "outline-style", "outline-color"),
    "flex": ("flex-grow", "flex-shrink", "flex-basis"),
    "flex-flow": ("flex-direction", "flex-wrap"),
}
# shorthand -> (required longhand, optional longhands...) for shorthands whose omitted parts reset to initial,
# which equals the tag's default for these non-inherited properties.
PARTIAL_SHORTHANDS: dict[str, tuple[str, ...]] = {
    "text-decoration": (
        "text-decoration-line",
        "text-decoration-style",
        "text-decoration-color",
        "text-decoration-thickness",
    ),
}

# Every longhand a shorthand we write covers, so callers can tell when two properties overlap.
_COVERS: dict[str, set[str]] = {}
for _short, _longs in (*BOX_SHORTHANDS.items(), *JOINED_SHORTHANDS.items(), *PARTIAL_SHORTHANDS.items()):
    _COVERS[_short] = set(_longs)
for _side in SIDES:
    _COVERS[f"border-{_side}"] = {f"border-{_side}-{part}" for part in ("width", "style", "color")}
_COVERS["border"] = {f"border-{s}-{p}" for s in SIDES for p in ("width", "style", "color")} | {
    "border-image-source",
    "border-image-slice",
    "border-image-width",
    "border-image-outset",
    "border-image-repeat",
}


def longhands(prop: str) -> set[str]:
    """The longhand properties `prop` sets (itself when it is a longhand)."""
    return _COVERS.get(prop, {prop})


class CSSError(ValueError):
    """A style attribute or rule that tinycss2 cannot parse into declarations."""


# --- values ----------------------------------------------------------------------------------------------------

_SIG_DIGITS = re.compile(r"[1-9]\d*")


def _number(value: float, representation: str, is_integer: bool) -> str:
    """The shortest text for a CSS number that the browser reads back as the same value."""
    text = representation.lstrip("+")
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    if "e" not in text.lower() and len(digits.rstrip("0")) >= 9:
        # Chromium prints lengths from 32-bit floats with ~10 significant digits: any text that rounds to the
        # same float32 is the same length to it; numpy gives the shortest.
        text = np.format_float_positional(np.float32(value), unique=True, trim="-")
    if "." in text and "e" not in text.lower():
        text = text.rstrip("0").rstrip(".")
    if text.startswith("0.") and len(text) > 2:
        text = text[1:]
    elif text.startswith("-0.") and len(text) > 3:
        text = "-" + text[2:]
    if text in ("-0", ""):
        text = "0"
    return text


def _hex(r: int, g: int, b: int) -> str:
    full = f"{r:02x}{g:02x}{b:02x}"
    if full[0] == full[1] and full[2] == full[3] and full[4] == full[5]:
        return "#" + full[0] + full[2] + full[4]
    return "#" + full


def _color_function(fn: ast.FunctionBlock) -> str | None:
    """rgb()/rgba() with plain numbers as a hex colour or `transparent`; None when it has another form."""
    if fn.lower_name not in ("rgb", "rgba"):
        return None
    parts = [t for t in fn.arguments if t.type not in ("whitespace", "comment")]
    numbers = [t for t in parts if t.type == "number"]
    if [t.type for t in parts if t.type != "number"] != ["literal"] * (len(parts) - len(numbers)):
        return None
    if any(t.value != "," for t in parts if t.type == "literal") or len(numbers) not in (3, 4):
        return None
    if not all(t.is_integer and 0 <= t.int_value <= 255 for t in numbers[:3]):
        return None
    r, g, b = (t.int_value for t in numbers[:3])
    alpha = numbers[3].value if len(numbers) == 4 else 1.0
    if alpha == 1.0:
        return _hex(r, g, b)
    if alpha == 0.0 and (r, g, b) == (0, 0, 0):
        return "transparent"
    a = _number(numbers[3].value, numbers[3].representation, numbers[3].is_integer)
    return f"rgba({r},{g},{b},{a})"


def _serialize(tokens: Iterable[ast.Node], prop: str, top: bool = True) -> str:
    out: list[str] = []
    for token in tokens:
        kind = token.type
        if kind == "comment":
            continue
        if kind == "whitespace":
            if out and out[-1] not in (" ", ",", "("):
                out.append(" ")
            continue
        if kind == "literal" and token.value == "," and out and out[-1] == " ":
            out.pop()
        if kind == "dimension":
            unit = token.lower_unit
            num = _number(token.value, token.representation, token.is_integer)
            if top and num == "0" and unit in _LENGTH_UNITS and prop not in _KEEP_ZERO_UNIT:
                out.append("0")
            else:
                out.append(num + unit)
        elif kind == "hash" and re.fullmatch(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{3}", token.value):
            v = token.value.lower()
            out.append(_hex(*(int(v[i : i + 2], 16) for i in (0, 2, 4))) if len(v) == 6 else "#" + v)
        elif kind == "number":
            out.append(_number(token.value, token.representation, token.is_integer))
        elif kind == "percentage":
            out.append(_number(token.value, token.representation, token.is_integer) + "%")
        elif kind == "function":
            color = _color_function(token)
            if color is not None:
                out.append(color)
            elif token.lower_name in ("url", "format", "local"):
                out.append(tinycss2.serialize([token]))
            else:
                # Inside calc() and friends `0px` must keep its unit; spaces around + and - must stay.
                out.append(f"{token.name}({_serialize(token.arguments, prop, top=False)})")
        else:
            out.append(tinycss2.serialize([token]))
    while out and out[-1] == " ":
        out.pop()
    return "".join(out)


def normalize_value(prop: str, value: str | list[ast.Node]) -> str:
    tokens = tinycss2.parse_component_value_list(value) if isinstance(value, str) else value
    return _serialize(tokens, prop).strip()


# --- declaration lists -----------------------------------------------------------------------------------------


def parse_declarations(text: str) -> dict[str, str]:
    """Parse a style attribute or rule body into {property: normalised value}, the last one winning."""
    decls: dict[str, str] = {}
    for node in tinycss2.parse_blocks_contents(text, skip_comments=True, skip_whitespace=True):
        if node.type == "error":
            raise CSSError(f"{node.message} in {text[:120]!r}")
        if node.type != "declaration":
            raise CSSError(f"unexpected {node.type} in a declaration list: {text[:120]!r}")
        value = normalize_value(node.lower_name if not node.name.startswith("--") else node.name, node.value)
        if node.important:
            value += " !important"
        decls[node.lower_name if not node.name.startswith("--") else node.name] = value
    return decls


def _four(values: list[str]) -> str:
    top, right, bottom, left = values
    if left == right:
        if bottom == top:
            return top if right == top else f"{top} {right}"
        return f"{top} {right} {bottom}"
    return f"{top} {right} {bottom} {left}"


def _single(value: str) -> bool:
    return " " not in value and "!" not in value


def fold_shorthands(decls: Mapping[str, str]) -> dict[str, str]:
    """Fold complete sets of longhands into shorthands (see the module docstring)."""
    d = dict(decls)
    border_parts = [f"border-{s}-{p}" for s in SIDES for p in ("width", "style", "color")]
    image_set = any(k.startswith("border-image") for k in d)
    if all(k in d for k in border_parts) and not image_set:
        groups = {p: [d[f"border-{s}-{p}"] for s in SIDES] for p in ("width", "style", "color")}
        if all(len(set(v)) == 1 for v in groups.values()):
            for k in border_parts:
                del d[k]
            d["border"] = " ".join(groups[p][0] for p in ("width", "style", "color"))
    if not image_set:
        for side in SIDES:
            parts = [f"border-{side}-{p}" for p in ("width", "style", "color")]
            if all(k in d for k in parts) and not all(
                f"border-{s}-{p}" in d for s in SIDES for p in ("width", "style", "color")
            ):
                d[f"border-{side}"] = " ".join(d.pop(k) for k in parts)
    for short, longs in BOX_SHORTHANDS.items():
        if all(k in d for k in longs):
            values = [d[k] for k in longs]
            if all(_single(v) for v in values):
                for k in longs:
                    del d[k]
                d[short] = _four(values)
    border_groups = ("border-width", "border-style", "border-color")
    if not image_set and all(k in d and _single(d[k]) for k in border_groups):
        d["border"] = " ".join(d.pop(k) for k in border_groups)
    for short, longs in JOINED_SHORTHANDS.items():
        if all(k in d for k in longs) and all("!" not in d[k] for k in longs):
            values = [d.pop(k) for k in longs]
            if short in ("gap", "overflow") and values[0] == values[1]:
                values = values[:1]
            d[short] = " ".join(values)
    for short, longs in PARTIAL_SHORTHANDS.items():
        if longs[0] in d and all("!" not in d.get(k, "") for k in longs):
            d[short] = " ".join(d.pop(k) for k in longs if k in d)
    return d


def canonical(decls: Mapping[str, str]) -> Style:
    return tuple(sorted(decls.items()))


def normalize_style(text: str) -> Style:
    """A style attribute as a canonical Style."""
    return canonical(fold_shorthands(parse_declarations(text)))


def style_text(style: Iterable[tuple[str, str]]) -> str:
    """`prop:value;prop:value`: how pages and the framework write a declaration list."""
    return ";".join(f"{p}:{v}" for p, v in style)


# --- property families -----------------------------------------------------------------------------------------

FAMILIES = ("text", "box", "layout", "skin", "fx")

_TEXT = re.compile(
    r"^(color|font.*|line-height|letter-spacing|word-spacing|text-.*|white-space.*|word-break|overflow-wrap|"
    r"word-wrap|list-style.*|direction|unicode-bidi|hyphens|tab-size|quotes|caret-color|writing-mode|"
    r"-webkit-text-.*|text|-webkit-line-clamp|font-.*|vertical-align)$"
)
_BOX = re.compile(r"^(width|height|min-.*|max-.*|margin.*|padding.*|box-sizing|aspect-ratio)$")
_LAYOUT = re.compile(
    r"^(display|position|top|right|bottom|left|inset.*|float|clear|z-index|flex.*|grid.*|align-.*|justify-.*|"
    r"place-.*|gap|row-gap|column-gap|order|overflow|overflow-x|overflow-y|visibility|table-layout|"
    r"border-collapse|border-spacing|object-fit|object-position|columns|column-count|column-width|"
    r"-webkit-box-orient|contain|container.*|empty-cells|caption-side)$"
)
_SKIN = re.compile(r"^(background.*|border.*|outline.*|box-shadow|-webkit-mask.*|mask.*)$")


def family(prop: str) -> str:
    """Which of FAMILIES a property belongs to; a shorthand and its longhands always share one."""
    for name, pattern in (("text", _TEXT), ("box", _BOX), ("layout", _LAYOUT), ("skin", _SKIN)):
        if pattern.match(prop):
            return name
    return "fx"


def split_families(style: Style) -> dict[str, Style]:
    parts: dict[str, list[tuple[str, str]]] = {}
    for prop, value in style:
        parts.setdefault(family(prop), []).append((prop, value))
    return {name: tuple(parts[name]) for name in FAMILIES if name in parts}

"""Responsive snapshots: the default capture widths and the reading of a snapshot's @media rules.

The crawler and the extension capture a page at several widths and merge the passes with the shared
`extension/src/capture/widths.js`: the widest pass is the snapshot, and every narrower width adds, per
element, the declarations that differ there as `!important` rules keyed by the capture's `data-tw` attribute
inside `@media (max-width: …)` in one `<style data-tw-media>` block. A declaration the narrower width lacks is
written `revert` (back to what the element gets anyway). The build stages read that block with media_rules().
"""

from __future__ import annotations

import re

import tinycss2

from tinyweb.snapshot import Viewport

DESKTOP = Viewport(width=1280, height=800)
PHONE = Viewport(width=390, height=844)
DEFAULT_VIEWPORTS = (DESKTOP, PHONE)
REVERT = "revert"

MEDIA_RULE = re.compile(r'^\[data-tw="([0-9a-z]+)"\](::?[a-z-]+)?$')
MEDIA_STYLE_ATTR = "data-tw-media"


def query_breakpoint(query: str) -> float:
    """The max-width of a `(max-width: …px)` query (0 for anything else), for ordering blocks widest first."""
    match = re.search(r"max-width:\s*([\d.]+)px", query)
    return float(match.group(1)) if match else 0.0


def parse_style(text: str | None) -> dict[str, str]:
    """A declaration list (`prop: value; …`, as the capture script writes it) as a dict."""
    out: dict[str, str] = {}
    for decl in tinycss2.parse_blocks_contents(text or "", skip_comments=True, skip_whitespace=True):
        if decl.type == "declaration":
            out[decl.lower_name] = tinycss2.serialize(decl.value).strip()
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

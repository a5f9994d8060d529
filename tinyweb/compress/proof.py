"""The lossless proof: every semantic page, read with the framework stylesheet actually written, gives each
element exactly the declarations its cleaned page gave it.

It knows nothing of how convert chose the classes. It parses OUT/semantic-css-framework.css with tinycss2
into the rules of each class — its base declarations, its pseudo-element rules and, inside each
`@media (max-width: …)` block, its per-width rules — and walks each cleaned page beside its semantic page,
element by element in document order. For every element:
- its own declarations must equal the union of its classes' base declarations and its residual inline
  style, with no property set by two of them (then the order of rules cannot matter);
- its own pseudo-element rules must equal its classes' pseudo-element rules;
- at every other captured width, its own changes must equal its classes' rules in that width's @media block.
A class the stylesheet does not define, or a page whose elements do not line up, is a failure too. Every
failure is collected with its page and element.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from lxml import html

from tinyweb.compress.css import CSSError, parse_declarations
from tinyweb.compress.styles import UNSTYLED_TAGS, element_styles
from tinyweb.compress.stylesheet import ClassRules, Decls, stylesheet_rules

MAX_PER_PAGE = 20  # failures described per page (the count is exact)


@dataclass
class Failure:
    page: str  # page id
    element: int  # the element's position among the page's styled elements (document order)
    tag: str
    what: str

    def __str__(self) -> str:
        return f"{self.page} element {self.element} <{self.tag}>: {self.what}"


def _sorted_rules(rules: list[tuple[str, Decls]] | list[list[Any]]) -> list[tuple[str, Decls]]:
    return sorted((str(kind), tuple(sorted(tuple(d) for d in decls))) for kind, decls in rules)


def check_element(info: dict[str, Any], classes: list[str], residual: dict[str, str], rules: dict[str, ClassRules]):
    """What is wrong with one element (an empty list when it is reproduced exactly)."""
    wrong: list[str] = []
    got = dict(residual)
    got_pseudo: list[tuple[str, Decls]] = []
    got_media: list[tuple[str, Decls]] = []
    for name in classes:
        entry = rules.get(name)
        if entry is None:
            wrong.append(f"class {name} is not in the framework")
            continue
        overlap = sorted(set(got) & set(entry.base))
        if overlap:
            wrong.append(f"{', '.join(overlap)} set twice (class {name})")
        got.update(entry.base)
        got_pseudo += entry.pseudo
        got_media += entry.media
    want = {p: v for p, v in info["style"]}
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        changed = sorted(p for p in set(want) & set(got) if want[p] != got[p])
        parts = [
            f"{label} {', '.join(props[:6])}"
            for label, props in (("missing", missing), ("extra", extra), ("changed", changed))
            if props
        ]
        wrong.append("declarations differ: " + "; ".join(parts))
    if _sorted_rules(got_pseudo) != _sorted_rules(info["pseudo"]):
        wrong.append("pseudo-element rules differ")
    if _sorted_rules(got_media) != _sorted_rules(info["media"]):
        wrong.append("per-width (@media) rules differ")
    return wrong


def prove_page(page_id: str, clean_html: str, semantic_html: str, rules: dict[str, ClassRules]) -> list[Failure]:
    """Every failure of one page: its cleaned document against its semantic one and the framework's rules."""
    own, _faces = element_styles(html.document_fromstring(clean_html), with_roles=False)
    semantic = [
        el
        for el in html.document_fromstring(semantic_html).iter()
        if isinstance(el.tag, str) and el.tag not in UNSTYLED_TAGS
    ]
    if len(own) != len(semantic):
        return [Failure(page_id, 0, "html", f"{len(semantic)} elements where the cleaned page has {len(own)}")]
    failures = []
    for i, ((el, info), sem) in enumerate(zip(own, semantic, strict=True)):
        if el.tag != sem.tag:
            return [*failures, Failure(page_id, i, str(sem.tag), f"is <{el.tag}> in the cleaned page")]
        try:
            residual = parse_declarations(sem.get("style") or "")
        except CSSError as exc:
            failures.append(Failure(page_id, i, str(sem.tag), f"residual style does not parse: {exc}"))
            continue
        for what in check_element(info, (sem.get("class") or "").split(), residual, rules):
            failures.append(Failure(page_id, i, str(sem.tag), what))
    return failures


def _prove_item(item: str, rules: dict[str, ClassRules]) -> str:
    data = json.loads(item)
    failures = prove_page(data["id"], data["clean"], data["semantic"], rules)
    return json.dumps({"count": len(failures), "failures": [str(f) for f in failures[:MAX_PER_PAGE]]})


@dataclass
class Proof:
    pages: int
    failures: dict[str, list[str]]  # page id -> failures described (at most MAX_PER_PAGE each)
    counts: dict[str, int]  # page id -> failures

    @property
    def lossless_pages(self) -> int:
        return self.pages - len(self.failures)


def prove(pages: list[dict[str, Any]], semantic: dict[str, str], css: str, num_proc: int | None = None) -> Proof:
    """The proof over every cleaned page (`id`, `html`) and its semantic page (`semantic[id]`), on every core."""
    from tinyweb.parallel import parallel_map

    rules = stylesheet_rules(css)
    ordered = sorted(pages, key=lambda p: p["id"])
    items = [json.dumps({"id": p["id"], "clean": p["html"], "semantic": semantic[p["id"]]}) for p in ordered]
    results = [
        json.loads(r) for r in parallel_map(functools.partial(_prove_item, rules=rules), items, num_proc, "proof")
    ]
    failures = {p["id"]: r["failures"] for p, r in zip(ordered, results, strict=True) if r["count"]}
    counts = {p["id"]: r["count"] for p, r in zip(ordered, results, strict=True) if r["count"]}
    return Proof(pages=len(ordered), failures=failures, counts=counts)

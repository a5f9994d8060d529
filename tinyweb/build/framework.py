"""Stage 3, framework: factor the corpus's style sets into a semantic CSS framework.

Every element's normalised declarations are split into property families (tinyweb.build.css.FAMILIES:
typography, box, layout, background/border, effects). Then, corpus-wide:
- a whole style set that several elements share becomes one *bundle* class (one class name on the element);
- otherwise each family's declarations become a *family* class when at least MIN_USES elements share them;
- what is left, a family's declarations that no other element in the corpus has, stays as a residual inline
  style on its element.
Families are disjoint and a bundle replaces all of them, so no two classes on one element ever set the same
property: the order of rules cannot matter. Pseudo-element rules become `.class::before` rules.

Per-width rules (a responsive capture's @media block) become *media* classes: each element's whole set of
changes at one width is one class, written `!important` inside `@media (max-width: …)` at the end of the
stylesheet, so at that width it wins over the element's base classes whatever their order; `revert` hands a
property back to what the element gets without it. Media blocks come widest first (a narrower one applies
inside a wider one's range and must come later).

Class names are `{topic}-{role}[-{family}][-{n}]`: the topic of the pages that use the class (`base` when
they span several topics), the most common role of the elements that use it (tinyweb.build.roles), the
family for family classes (type, box, flow, skin, fx) or the width for media classes (phone, tablet…), and
a number when the rest is taken, given in order
of use, so the same corpus always gives the same names.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tinycss2
from lxml import html

from tinyweb.build.clean import PSEUDO_RULE
from tinyweb.build.css import Style, parse_declarations, split_families, style_text
from tinyweb.build.roles import assign_roles
from tinyweb.capture.responsive import MEDIA_STYLE_ATTR, media_rules, query_breakpoint

MIN_USES = 2  # elements that must share a family's declarations for them to become a class
BUNDLE_MIN_USES = 2  # elements that must share a whole style set for it to become one class
BASE_TOPIC = "base"
FAMILY_TAGS = {"text": "type", "box": "box", "layout": "flow", "skin": "skin", "fx": "fx"}
PSEUDO_TAGS = {
    "::before": "before",
    "::after": "after",
    "::marker": "marker",
    "::placeholder": "placeholder",
    "::file-selector-button": "file-button",
    "::first-letter": "first-letter",
    "::first-line": "first-line",
}
# Media classes are named for the devices their breakpoint is for (tinyweb.capture.responsive).
MEDIA_TAGS = {575.98: "phone", 767.98: "phablet", 991.98: "tablet", 1199.98: "laptop", 1399.98: "desktop"}
FONT_FACE_KEY = ("font-family", "font-weight", "font-style", "font-stretch", "unicode-range")


@dataclass
class ClassDef:
    name: str
    topic: str
    role: str
    kind: str  # "bundle", a family ("text", ...), a pseudo-element ("::before", ...) or "@(max-width: …)[::…]"
    style: str  # declarations, `prop:value;prop:value`
    uses: int  # elements that carry it
    pages: int  # pages that use it

    @property
    def media(self) -> str:
        """The media query of a media class, else ""."""
        return split_media_kind(self.kind)[0]

    @property
    def selector(self) -> str:
        pseudo = split_media_kind(self.kind)[1] if self.kind.startswith("@") else self.kind
        return f".{self.name}{pseudo}" if pseudo.startswith("::") else f".{self.name}"

    def rule(self) -> str:
        if self.media:
            return self.selector + "{" + ";".join(f"{d} !important" for d in self.style.split(";") if d) + "}"
        return f"{self.selector}{{{self.style}}}"


def media_kind(query: str, selector: str) -> str:
    return f"@{query}{selector}"


def split_media_kind(kind: str) -> tuple[str, str]:
    """`@(max-width: 575.98px)::before` -> ("(max-width: 575.98px)", "::before"); ("", kind) for the rest."""
    if not kind.startswith("@"):
        return "", kind
    end = kind.rindex(")") + 1
    return kind[1:end], kind[end:]


def media_tag(query: str) -> str:
    point = query_breakpoint(query)
    return MEDIA_TAGS.get(point, f"upto{int(point)}")


@dataclass
class Framework:
    classes: list[ClassDef]
    font_faces: list[str]  # @font-face rules shared by every page
    topics: dict[str, list[str]] = field(default_factory=dict)  # topic -> keywords, for section comments
    by_key: dict[str, str] = field(default_factory=dict)  # lookup key -> class name

    def __post_init__(self) -> None:
        if not self.by_key:
            self.by_key = {_key(c.kind, c.style): c.name for c in self.classes}

    def assign(
        self, style: Style, pseudo: Iterable[tuple[str, Style]] = (), media: Iterable[tuple[str, Style]] = ()
    ) -> tuple[list[str], Style]:
        """The classes for an element with `style`, pseudo-element rules and per-width rules (media kind,
        style), and its residual inline style."""
        names: list[str] = []
        residual: list[tuple[str, str]] = []
        if style:
            bundle = self.by_key.get(_key("bundle", style_text(style)))
            if bundle:
                names.append(bundle)
            else:
                for fam, part in split_families(style).items():
                    name = self.by_key.get(_key(fam, style_text(part)))
                    if name:
                        names.append(name)
                    else:
                        residual.extend(part)
        for selector, pstyle in [*pseudo, *media]:
            name = self.by_key.get(_key(selector, style_text(pstyle)))
            if name is None:
                raise KeyError(f"no class for {selector} {{{style_text(pstyle)}}}")
            names.append(name)
        return names, tuple(sorted(residual))

    def css(self, responsive: bool = True) -> str:
        """The framework stylesheet: fonts, one commented section per topic, then the media classes in one
        @media block per width, widest first (`responsive=False`: without them, to measure what they cost)."""
        lines = ["/* tinyweb semantic CSS framework: generated by `tinyweb framework`; do not edit. */"]
        if self.font_faces:
            lines += ["", "/* fonts */", *self.font_faces]
        lines += self._sections([c for c in self.classes if not c.media])
        if responsive:
            queries = sorted({c.media for c in self.classes if c.media}, key=query_breakpoint, reverse=True)
            for query in queries:
                lines += ["", f"/* {media_tag(query)}: these rules win over the base classes up to this width */"]
                lines += [f"@media {query} {{", *self._sections([c for c in self.classes if c.media == query]), "}"]
        return "\n".join(lines) + "\n"

    def _sections(self, classes: list[ClassDef]) -> list[str]:
        lines: list[str] = []
        sections: dict[str, list[ClassDef]] = defaultdict(list)
        for c in classes:
            sections[c.topic].append(c)
        order = sorted(sections, key=lambda t: (t != BASE_TOPIC, t == "general", t))
        for topic in order:
            words = self.topics.get(topic, [])
            about = "shared by several topics" if topic == BASE_TOPIC else ", ".join(words[:5]) or "pages on no topic"
            lines += ["", f"/* {topic}: {about} */"]
            for c in sorted(sections[topic], key=lambda c: (c.role, c.name)):
                lines.append(c.rule())
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"classes": [asdict(c) for c in self.classes], "font_faces": self.font_faces, "topics": self.topics}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Framework:
        return cls(
            classes=[ClassDef(**c) for c in data["classes"]],
            font_faces=data["font_faces"],
            topics=data.get("topics", {}),
        )

    def save(self, out: Path) -> None:
        (out / "framework.json").write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        (out / "semantic-css-framework.css").write_text(self.css(), encoding="utf-8")

    @classmethod
    def load(cls, out: Path) -> Framework:
        return cls.from_json(json.loads((out / "framework.json").read_text(encoding="utf-8")))


def _key(kind: str, style: str) -> str:
    return f"{kind}|{style}"


# --- per page ------------------------------------------------------------------------------------------------


# Elements of <head> carry no style; every other element is walked, in document order.
UNSTYLED_TAGS = ("head", "title", "meta", "base", "style", "link")


def element_styles(root: html.HtmlElement) -> tuple[list[tuple[html.HtmlElement, dict[str, Any]]], list[str]]:
    """Each element of a parsed cleaned page in document order with its {role, style, pseudo, media}, and the
    page's @font-face rules. `style` and each pseudo and media style are lists of [property, value] in
    canonical order; `media` pairs a media kind (media_kind()) with the element's changes at that width."""
    faces: list[str] = []
    pseudo: dict[str, list[tuple[str, Style]]] = defaultdict(list)
    media: dict[str, list[tuple[str, Style]]] = defaultdict(list)
    for style_el in root.iter("style"):
        if style_el.get(MEDIA_STYLE_ATTR) is not None:
            for query, items in media_rules(style_el.text or ""):
                for key, selector, decls in items:
                    media[key].append((media_kind(query, selector), tuple(sorted(decls.items()))))
            continue
        for rule in tinycss2.parse_stylesheet(style_el.text or "", skip_comments=True, skip_whitespace=True):
            if rule.type == "at-rule":
                faces.append(tinycss2.serialize([rule]).strip())
            elif rule.type == "qualified-rule":
                match = PSEUDO_RULE.match(tinycss2.serialize(rule.prelude).strip())
                if match:
                    decls = parse_declarations(tinycss2.serialize(rule.content))
                    pseudo[match.group(1)].append((match.group(2), tuple(sorted(decls.items()))))
    roles = assign_roles(root)
    elements = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in UNSTYLED_TAGS:
            continue
        style = tuple(sorted(parse_declarations(el.get("style") or "").items()))
        key = el.get("data-tw")
        rules = pseudo.get(key, []) if key else []
        widths = media.get(key, []) if key else []
        info = {
            "role": roles.get(el, "box"),
            "style": [list(d) for d in style],
            "pseudo": [[sel, [list(d) for d in s]] for sel, s in rules],
            "media": [[kind, [list(d) for d in s]] for kind, s in widths],
        }
        elements.append((el, info))
    return elements, faces


def page_styles(document: str) -> tuple[list[dict[str, Any]], list[str]]:
    """element_styles of a cleaned page's HTML, without the elements themselves."""
    elements, faces = element_styles(html.document_fromstring(document))
    return [info for _, info in elements], faces


def _extract_item(item: str) -> str:
    page = json.loads(item)
    elements, faces = page_styles(page["html"])
    return json.dumps({"id": page["id"], "elements": elements, "faces": faces})


# --- corpus-wide ---------------------------------------------------------------------------------------------


def _font_face_key(rule: str) -> tuple[str, ...]:
    body = rule[rule.index("{") + 1 : rule.rindex("}")]
    decls = parse_declarations(body)
    return tuple(decls.get(k, "") for k in FONT_FACE_KEY)


def choose_font_faces(faces_by_page: dict[str, list[str]]) -> tuple[list[str], dict[str, list[str]]]:
    """Font faces for the framework (the most used rule per family/weight/style), and per page the faces it
    needs that clash with those (kept in the page's own <style>)."""
    uses: Counter[str] = Counter(face for faces in faces_by_page.values() for face in set(faces))
    chosen: dict[tuple[str, ...], str] = {}
    for face in sorted(uses, key=lambda f: (-uses[f], f)):
        chosen.setdefault(_font_face_key(face), face)
    page_own = {
        pid: sorted({f for f in faces if chosen[_font_face_key(f)] != f}) for pid, faces in faces_by_page.items()
    }
    return sorted(chosen.values()), {pid: faces for pid, faces in page_own.items() if faces}


def _majority(counter: Counter[str]) -> str:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def class_role(roles: Counter[str]) -> str:
    """The role most of a class's elements have; else the kind of element most have (`link`, `text`); else
    `any`, for classes that every sort of element shares."""
    total = sum(roles.values())
    role = _majority(roles)
    if roles[role] * 2 >= total:
        return role
    kinds: Counter[str] = Counter()
    for r, n in roles.items():
        kinds[r.rsplit("-", 1)[-1]] += n
    kind = _majority(kinds)
    return kind if kinds[kind] * 2 >= total else "any"


def build_framework(
    extracted: list[dict[str, Any]], page_topic: dict[str, str], topic_keywords: dict[str, list[str]]
) -> tuple[Framework, dict[str, list[str]]]:
    """Decide the classes from every page's styled elements. Returns the framework and per page the
    @font-face rules it keeps for itself."""
    full_uses: Counter[str] = Counter()
    family_uses: Counter[str] = Counter()
    for page in extracted:
        for el in page["elements"]:
            style = tuple(tuple(d) for d in el["style"])
            if not style:
                continue
            parts = split_families(style)
            if len(parts) > 1:
                full_uses[style_text(style)] += 1
            for fam, part in parts.items():
                family_uses[_key(fam, style_text(part))] += 1
    bundles = {s for s, n in full_uses.items() if n >= BUNDLE_MIN_USES}

    # Which classes exist, who uses them (for their topic and role names).
    roles: dict[str, Counter[str]] = defaultdict(Counter)
    topics: dict[str, Counter[str]] = defaultdict(Counter)
    pages_of: dict[str, set[str]] = defaultdict(set)
    for page in extracted:
        topic = page_topic.get(page["id"], "general")
        for el in page["elements"]:
            style = tuple(tuple(d) for d in el["style"])
            keys = []
            if style:
                text = style_text(style)
                if text in bundles:
                    keys.append(_key("bundle", text))
                else:
                    keys += [
                        k
                        for fam, part in split_families(style).items()
                        if family_uses[k := _key(fam, style_text(part))] >= MIN_USES
                    ]
            keys += [_key(sel, style_text(tuple(tuple(d) for d in ps))) for sel, ps in [*el["pseudo"], *el["media"]]]
            for k in keys:
                roles[k][el["role"]] += 1
                topics[k][topic] += 1
                pages_of[k].add(page["id"])

    # Names: most used first, so the plain name goes to the class people meet most.
    order = sorted(roles, key=lambda k: (-sum(roles[k].values()), k))
    taken: set[str] = set()
    classes = []
    for k in order:
        kind, style = k.split("|", 1)
        topic = next(iter(topics[k])) if len(topics[k]) == 1 else BASE_TOPIC
        role = class_role(roles[k])
        stem = f"{topic}-{role}"
        if kind in FAMILY_TAGS and not stem.endswith("-" + FAMILY_TAGS[kind]):
            stem += "-" + FAMILY_TAGS[kind]
        elif kind in PSEUDO_TAGS:
            stem += "-" + PSEUDO_TAGS[kind]
        elif kind.startswith("@"):
            query, pseudo = split_media_kind(kind)
            stem += "-" + media_tag(query) + ("-" + PSEUDO_TAGS.get(pseudo, pseudo.strip(":")) if pseudo else "")
        name, n = stem, 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name)
        classes.append(
            ClassDef(
                name=name,
                topic=topic,
                role=role,
                kind=kind,
                style=style,
                uses=sum(roles[k].values()),
                pages=len(pages_of[k]),
            )
        )
    faces, page_faces = choose_font_faces({p["id"]: p["faces"] for p in extracted})
    used_topics = {c.topic for c in classes}
    keywords = {t: w for t, w in topic_keywords.items() if t in used_topics}
    return Framework(classes=classes, font_faces=faces, topics=keywords), page_faces


def framework(
    pages: list[dict[str, Any]],
    page_topic: dict[str, str],
    topic_keywords: dict[str, list[str]],
    num_proc: int | None = None,
) -> tuple[Framework, dict[str, list[str]]]:
    """The framework stage's entry point: clean pages and their topics in, the framework out."""
    return build_framework(extract_pages(pages, num_proc), page_topic, topic_keywords)


def extract_pages(pages: list[dict[str, Any]], num_proc: int | None = None, desc: str = "framework") -> list[dict]:
    """Every clean page's styled elements and @font-face rules ({id, elements, faces}; page_styles), in
    order of id, on every core."""
    from tinyweb.build.parallel import parallel_map

    items = [json.dumps({"id": p["id"], "html": p["html"]}) for p in sorted(pages, key=lambda p: p["id"])]
    return [json.loads(r) for r in parallel_map(_extract_item, items, num_proc, desc)]

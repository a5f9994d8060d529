"""Stage 3, framework: factor the corpus's style sets into a semantic CSS framework.

Every element's normalised declarations are split into property families (tinyweb.compress.css.FAMILIES:
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
they span several topics), the most common role of the elements that use it (tinyweb.compress.roles), the
family for family classes (type, box, flow, skin, fx) or the width for media classes (phone, tablet…), and
a number when the rest is taken, given in order
of use, so the same corpus always gives the same names.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tinyweb.compress.css import parse_declarations, split_families, style_text
from tinyweb.compress.styles import extract_pages
from tinyweb.compress.stylesheet import BASE_TOPIC, ClassDef, Framework, key, media_tag, split_media_kind

MIN_USES = 2  # elements that must share a family's declarations for them to become a class
BUNDLE_MIN_USES = 2  # elements that must share a whole style set for it to become one class
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
FONT_FACE_KEY = ("font-family", "font-weight", "font-style", "font-stretch", "unicode-range")


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
    bundles, family_uses = _count_style_sets(extracted)
    users = _class_users(extracted, page_topic, bundles, family_uses)
    classes = _name_classes(users)
    faces, page_faces = choose_font_faces({p["id"]: p["faces"] for p in extracted})
    used_topics = {c.topic for c in classes}
    keywords = {t: w for t, w in topic_keywords.items() if t in used_topics}
    return Framework(classes=classes, font_faces=faces, topics=keywords), page_faces


def _count_style_sets(extracted: list[dict[str, Any]]) -> tuple[set[str], Counter[str]]:
    """The whole style sets several elements share (the bundles), and how many elements use each family's
    declarations."""
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
                family_uses[key(fam, style_text(part))] += 1
    return {s for s, n in full_uses.items() if n >= BUNDLE_MIN_USES}, family_uses


@dataclass
class ClassUsers:
    """Who uses each class (by key): their roles, topics and pages, which name the class."""

    roles: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    topics: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    pages: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _class_users(
    extracted: list[dict[str, Any]], page_topic: dict[str, str], bundles: set[str], family_uses: Counter[str]
) -> ClassUsers:
    """Which classes exist and who uses them: every element's bundle or shared family classes, and its
    pseudo-element and per-width classes."""
    users = ClassUsers()
    for page in extracted:
        topic = page_topic.get(page["id"], "general")
        for el in page["elements"]:
            style = tuple(tuple(d) for d in el["style"])
            keys = []
            if style:
                text = style_text(style)
                if text in bundles:
                    keys.append(key("bundle", text))
                else:
                    keys += [
                        k
                        for fam, part in split_families(style).items()
                        if family_uses[k := key(fam, style_text(part))] >= MIN_USES
                    ]
            keys += [key(sel, style_text(tuple(tuple(d) for d in ps))) for sel, ps in [*el["pseudo"], *el["media"]]]
            for k in keys:
                users.roles[k][el["role"]] += 1
                users.topics[k][topic] += 1
                users.pages[k].add(page["id"])
    return users


def class_stem(kind: str, topic: str, role: str) -> str:
    """`{topic}-{role}` and the family, pseudo-element or width tag of the class's kind."""
    stem = f"{topic}-{role}"
    if kind in FAMILY_TAGS and not stem.endswith("-" + FAMILY_TAGS[kind]):
        stem += "-" + FAMILY_TAGS[kind]
    elif kind in PSEUDO_TAGS:
        stem += "-" + PSEUDO_TAGS[kind]
    elif kind.startswith("@"):
        query, pseudo = split_media_kind(kind)
        stem += "-" + media_tag(query) + ("-" + PSEUDO_TAGS.get(pseudo, pseudo.strip(":")) if pseudo else "")
    return stem


def _name_classes(users: ClassUsers) -> list[ClassDef]:
    """Every class named, most used first, so the plain name goes to the class people meet most."""
    order = sorted(users.roles, key=lambda k: (-sum(users.roles[k].values()), k))
    taken: set[str] = set()
    classes = []
    for k in order:
        kind, style = k.split("|", 1)
        topic = next(iter(users.topics[k])) if len(users.topics[k]) == 1 else BASE_TOPIC
        role = class_role(users.roles[k])
        stem = class_stem(kind, topic, role)
        name, n = stem, 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name)
        uses = sum(users.roles[k].values())
        classes.append(ClassDef(name, topic, role, kind, style, uses=uses, pages=len(users.pages[k])))
    return classes


def framework(
    pages: list[dict[str, Any]],
    page_topic: dict[str, str],
    topic_keywords: dict[str, list[str]],
    num_proc: int | None = None,
) -> tuple[Framework, dict[str, list[str]]]:
    """The framework stage's entry point: clean pages and their topics in, the framework out."""
    return build_framework(extract_pages(pages, num_proc), page_topic, topic_keywords)

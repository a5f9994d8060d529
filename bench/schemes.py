"""How the framework's class count would grow under other ways of factoring the same styles.

Run from the repository root after `python -m bench.build`: `python -m bench.schemes [--out bench/results]`.
It reads the cleaned pages of OUT/build-25 and OUT/build-all, the two builds bench.build makes, and counts,
for each scheme below, the classes the 25-page and the full corpus would need, the class names an element
would carry, and how many elements and declarations would stay as residual inline styles. Every scheme is
lossless (an element's declarations are its classes' plus its residual, each set once); pseudo-element and
per-width rules stay one class per distinct rule set, as `tinyweb framework` makes them. The first scheme is
tinyweb's own and must reproduce the build's class count. Writes OUT/schemes.json.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tinyweb.compress.css import Style, split_families, style_text
from tinyweb.compress.framework import BUNDLE_MIN_USES, MIN_USES
from tinyweb.compress.styles import extract_pages

GOAL_GROWTH = 4.0  # the compression issue: classes from 25 pages to all grow at most this much


@dataclass(frozen=True)
class Scheme:
    name: str
    unit: str  # "family": a property family's declarations are one class; "declaration": each is its own
    bundles: bool  # a whole style set shared often enough is one class
    min_users: int  # elements (or pages) that must share a class (bundle or part); else it stays inline
    per_page: bool = False  # count pages that share it instead of elements
    atomic_rules: bool = False  # pseudo-element and per-width rules too: a class per declaration

    def rule_classes(self, rules: list) -> set[str]:
        """The classes of an element's pseudo-element and per-width rules ([selector or media kind, style])."""
        if self.atomic_rules:
            return {f"{sel}|{prop}:{value}" for sel, decls in rules for prop, value in decls}
        return {f"{sel}|{style_text(tuple(tuple(d) for d in decls))}" for sel, decls in rules}

    def parts(self, style: Style) -> dict[str, Style]:
        if self.unit == "declaration":
            return {f"{prop}:{value}": ((prop, value),) for prop, value in style}
        return split_families(style)


assert BUNDLE_MIN_USES == MIN_USES, "the tinyweb scheme below takes one threshold for bundles and families"
SCHEMES = (
    Scheme("tinyweb: bundles, else property families", "family", bundles=True, min_users=MIN_USES),
    Scheme("property families only", "family", bundles=False, min_users=MIN_USES),
    Scheme("bundles and families on 5 or more elements", "family", bundles=True, min_users=5),
    Scheme("bundles and families on 2 or more pages", "family", bundles=True, min_users=2, per_page=True),
    Scheme("one class per declaration (atomic CSS)", "declaration", bundles=False, min_users=2),
    Scheme("atomic, pseudo-element and width rules too", "declaration", bundles=False, min_users=2, atomic_rules=True),
    Scheme("atomic, on 3 or more elements", "declaration", bundles=False, min_users=3),
    Scheme("atomic, on 2 or more pages", "declaration", bundles=False, min_users=2, per_page=True),
)


def load_pages(build_dir: Path) -> list[dict]:
    """Every cleaned page of a build, as the framework stage sees it (framework.extract_pages)."""
    from datasets import load_from_disk

    rows = load_from_disk(str(build_dir / "clean")).select_columns(["id", "html"])
    return extract_pages(list(rows), desc=f"styles of {build_dir.name}")


def count(pages: list[dict], scheme: Scheme) -> dict:
    """Classes, class names per element, and residual shares for `pages` factored by `scheme`."""
    users: dict[str, set] = defaultdict(set)
    elements = []  # per element: its bundle key (or None), (key, declarations) of each part, its rule classes
    for p, page in enumerate(pages):
        for e, el in enumerate(page["elements"]):
            style = tuple(tuple(d) for d in el["style"])
            who = page["id"] if scheme.per_page else (p, e)
            parts = scheme.parts(style)
            bundle = "bundle|" + style_text(style) if scheme.bundles and len(parts) > 1 else None
            keyed = [(f"{name}|{style_text(part)}", len(part)) for name, part in parts.items()]
            if bundle:
                users[bundle].add(who)
            for key, _ in keyed:
                users[key].add(who)
            elements.append((bundle, keyed, scheme.rule_classes([*el["pseudo"], *el["media"]])))
    classes: set[str] = set()
    styled = names = residual_elements = declarations = residual_declarations = 0
    for bundle, keyed, rules in elements:
        if not keyed and not rules:
            continue
        styled += 1
        classes |= rules
        names += len(rules)
        declarations += sum(n for _, n in keyed)
        if bundle and len(users[bundle]) >= scheme.min_users:
            classes.add(bundle)
            names += 1
            continue
        left = 0
        for key, n in keyed:
            if len(users[key]) >= scheme.min_users:
                classes.add(key)
                names += 1
            else:
                left += n
        residual_declarations += left
        residual_elements += left > 0
    return {
        "classes": len(classes),
        "classes_per_element": round(names / max(styled, 1), 3),
        "residual_element_share": round(residual_elements / max(styled, 1), 4),
        "residual_declaration_share": round(residual_declarations / max(declarations, 1), 4),
    }


def compare(small: list[dict], full: list[dict]) -> list[dict]:
    rows = []
    for scheme in SCHEMES:
        a, b = count(small, scheme), count(full, scheme)
        growth = b["classes"] / a["classes"]
        rows.append(
            {
                "scheme": scheme.name,
                "classes_small": a["classes"],
                "classes_full": b["classes"],
                "growth": round(growth, 2),
                "goal_met": growth <= GOAL_GROWTH,
                **{k: v for k, v in b.items() if k != "classes"},
            }
        )
    return rows


def format_table(rows: list[dict], pages: tuple[int, int]) -> str:
    lines = [
        f"{'scheme':<46}{f'{pages[0]} pages':>10}{f'{pages[1]} pages':>11}{'growth':>8}"
        f"{'names/el':>10}{'inline el':>11}{'inline decl':>13}"
    ]
    for r in rows:
        lines.append(
            f"{r['scheme']:<46}{r['classes_small']:>10}{r['classes_full']:>11}{r['growth']:>7}x"
            f"{r['classes_per_element']:>10}{r['residual_element_share']:>11.1%}{r['residual_declaration_share']:>13.1%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.schemes", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="bench.build's output folder")
    args = parser.parse_args(argv)
    builds = [args.out / "build-25", args.out / "build-all"]
    missing = [str(b) for b in builds if not (b / "clean").is_dir()]
    if missing:
        raise SystemExit(f"no cleaned pages in {', '.join(missing)}: run `python -m bench.build` first")
    small, full = (load_pages(b) for b in builds)
    rows = compare(small, full)
    built = json.loads((builds[1] / "report.json").read_text(encoding="utf-8"))["framework"]["classes"]
    if rows[0]["classes_full"] != built:
        raise SystemExit(f"the tinyweb scheme counts {rows[0]['classes_full']} classes, the build made {built}")
    print(format_table(rows, (len(small), len(full))))
    path = args.out / "schemes.json"
    path.write_text(json.dumps({"pages": [len(small), len(full)], "schemes": rows}, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()

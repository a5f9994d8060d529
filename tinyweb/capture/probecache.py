"""The default-style probes a browser has made, carried from one capture to the next.

The capture script compares every element with the browser's own default for its tag, probed in a hidden
frame. Those defaults belong to the browser, the page's mode and the viewport (the script's *scope*), not
to the page, so a crawl need not probe a `div` again on every page. A Browser exposes `lookup` to its
pages; a capture asks it, by family (an element's probe key, or a group such as `#page`), for what earlier
captures in the same context found, and reports what it added (`probeCache` in its result). Entries are
the script's own packed form (see ProbeStore in capture.js); this side keeps them as text, per scope and
family, up to a bound.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

# The name the lookup has in pages of a Browser's context (the capture script's `probeLookup`).
LOOKUP_NAME = "__tinywebProbeLookup"
# Far more than a crawl of one site needs (a page uses some tens of probe keys); bounds memory on crawls
# of very varied sites.
MAX_ENTRIES_PER_SCOPE = 4000


@dataclass
class ProbeStats:
    """Probe references a capture took from the cache (hits) and had to probe (misses)."""

    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float | None:
        total = self.hits + self.misses
        return self.hits / total if total else None


@dataclass
class _Scope:
    bases_text: str = "{}"
    bases: dict[str, Any] = field(default_factory=dict)
    # family → key → the entry's JSON text
    families: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    size: int = 0


class ProbeCache:
    """Probe references of one browser context. Used from one event loop, like the context itself."""

    def __init__(self, max_entries: int = MAX_ENTRIES_PER_SCOPE) -> None:
        self.max_entries = max_entries
        self._scopes: dict[str, _Scope] = {}
        self.last = ProbeStats()
        self.total = ProbeStats()

    def lookup(self, scope_name: str, families: list[str]) -> str | None:
        """The text of `{bases, entries}` for the families a capture asks for; None when nothing is kept."""
        scope = self._scopes.get(scope_name)
        if scope is None:
            return None
        parts = []
        for family in families:
            for key, text in scope.families.get(family, {}).items():
                parts.append(f"{json.dumps(key)}:{text}")
        if not parts:
            return None
        return '{"bases":' + scope.bases_text + ',"entries":{' + ",".join(parts) + "}}"

    def update(self, report: dict[str, Any] | None) -> None:
        """Keep what a capture added (its result's `probeCache`). Entries packed against bases other than
        the ones kept already (which the script derives the same way every time) are dropped."""
        if not report:
            return
        self.last = ProbeStats(hits=report.get("hits", 0), misses=report.get("misses", 0))
        self.total.hits += self.last.hits
        self.total.misses += self.last.misses
        if not report.get("added"):
            return
        added = json.loads(report["added"])
        scope = self._scopes.setdefault(report["scope"], _Scope())
        bases = added.get("bases", {})
        if any(scope.bases.get(length, values) != values for length, values in bases.items()):
            return
        if bases:
            scope.bases.update(bases)
            scope.bases_text = json.dumps(scope.bases, separators=(",", ":"))
        families = added.get("families", {})
        for key, entry in added.get("entries", {}).items():
            if scope.size >= self.max_entries:
                break
            family = scope.families[families.get(key, key)]
            if key not in family:
                family[key] = json.dumps(entry, separators=(",", ":"))
                scope.size += 1

    def __len__(self) -> int:
        return sum(scope.size for scope in self._scopes.values())

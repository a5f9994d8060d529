"""OUT/report.json: one section per stage, each written when its stage runs (later stages add theirs)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from tinyweb.layout import REPORT_FILE


def read(out: Path) -> dict[str, Any]:
    path = out / REPORT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_section(out: Path, name: str, section: dict[str, Any]) -> None:
    report = read(out)
    report[name] = section
    (out / REPORT_FILE).write_text(json.dumps(report, indent=1, sort_keys=False), encoding="utf-8")


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None

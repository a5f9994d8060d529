"""The capture scripts, loaded from the package data or, in a source checkout, from extension/.

`capture.js` turns the live page into a snapshot; `widths.js` merges captures made at several widths. Both
are the extension's own files, shipped unchanged: there is no second copy to keep in sync."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from tinyweb.errors import TinywebError

SCRIPT_NAMES = ("capture.js", "widths.js")
# In a source checkout (editable install) the single source lives in the extension.
SOURCE_DIR = Path(__file__).resolve().parents[2] / "extension" / "src" / "capture"


def _read(name: str) -> str:
    packaged = resources.files("tinyweb.capture").joinpath(name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    if (SOURCE_DIR / name).is_file():
        return (SOURCE_DIR / name).read_text(encoding="utf-8")
    raise TinywebError(f"capture script {name} is missing from this installation; reinstall tinyweb")


@lru_cache(maxsize=1)
def capture_script() -> str:
    """Source of the capture scripts, which define `tinywebCapture`, `tinywebSettle`, `tinywebMergeWidths`,
    `tinywebWatchMutations`, `tinywebStopWatching` and `tinywebUnmark`."""
    return "\n".join(_read(name) for name in SCRIPT_NAMES)

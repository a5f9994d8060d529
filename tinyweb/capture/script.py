"""The one capture script, loaded from the package data or, in a source checkout, from extension/."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from tinyweb.errors import TinywebError

SCRIPT_NAME = "capture.js"
# In a source checkout (editable install) the single source lives in the extension.
SOURCE_PATH = Path(__file__).resolve().parents[2] / "extension" / "src" / "capture" / SCRIPT_NAME


@lru_cache(maxsize=1)
def capture_script() -> str:
    """Source of the capture script, which defines `tinywebCapture` and `tinywebSettle`."""
    packaged = resources.files("tinyweb.capture").joinpath(SCRIPT_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    if SOURCE_PATH.is_file():
        return SOURCE_PATH.read_text(encoding="utf-8")
    raise TinywebError(f"capture script {SCRIPT_NAME} is missing from this installation; reinstall tinyweb")

"""The wheel: what a user installs carries the files tinyweb reads at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tinyweb.learn.runs import DEFAULT_RUN

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_the_capture_script_placeholder_example_page_demo_site_and_shipped_run(tmp_path):
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = tmp_path.glob("tinyweb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "tinyweb/capture/capture.js",
        "tinyweb/capture/widths.js",
        "tinyweb/data/placeholder.svg",
        "tinyweb/learn/data/example-page.html",
        "tinyweb/demo/site/index.html",
        "tinyweb_server/app.py",
    ):
        assert needed in names, needed
    # The run tinyweb ships (when this checkout has one): every file of it.
    shipped = [p.relative_to(ROOT).as_posix() for p in DEFAULT_RUN.rglob("*") if p.is_file()]
    assert all(name in names for name in shipped), sorted(set(shipped) - names)

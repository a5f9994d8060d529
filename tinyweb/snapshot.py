"""The records that flow between tinyweb's stages. `Snapshot` is the contract of capture, server and store."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tinyweb.urls import normalize_url

SCHEMA_VERSION = 1


def snapshot_id(url: str, html: str) -> str:
    """First 32 hex characters of SHA-256 over the normalised URL, a newline and the captured HTML."""
    digest = hashlib.sha256()
    digest.update(normalize_url(url).encode("utf-8"))
    digest.update(b"\n")
    digest.update(html.encode("utf-8"))
    return digest.hexdigest()[:32]


class Record(BaseModel):
    """Base for every record: unknown fields are an error, not silently dropped. Numbers are finite: JSON
    cannot carry an infinity back (pydantic writes it as null), so one would make a record unreadable."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Viewport(Record):
    width: int = Field(ge=1, le=16384)
    height: int = Field(ge=1, le=16384)

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @classmethod
    def parse(cls, text: str) -> Viewport:
        """Parse `1280x800`."""
        try:
            width, height = (int(part) for part in text.lower().split("x"))
        except ValueError as exc:
            raise ValueError(f"viewport must look like 1280x800, not {text!r}") from exc
        return cls(width=width, height=height)

    @classmethod
    def parse_all(cls, texts: Sequence[str]) -> tuple[Viewport, ...]:
        """Several `WxH` viewports, widest first; each must have its own width."""
        parsed = [cls.parse(text) for text in texts]
        widths = [v.width for v in parsed]
        if len(set(widths)) != len(widths):
            raise ValueError(f"each --viewport needs its own width, not {', '.join(map(str, widths))}")
        return tuple(sorted(parsed, key=lambda v: -v.width))


class CaptureStats(Record):
    element_count: int = Field(ge=0)
    pseudo_rules: int = Field(ge=0, default=0)
    font_faces: int = Field(ge=0, default=0)
    raw_html_bytes: int = Field(ge=0, description="Size of the live page's own HTML (outerHTML).")
    seed_format_bytes: int | None = Field(
        default=None, ge=0, description="Size the original prototype's inline-everything format would have."
    )
    capture_ms: float = Field(ge=0, description="Time spent inside the page by the capture itself.")
    seed_format_ms: float | None = Field(
        default=None, ge=0, description="Time the prototype-format measurement took on top of the capture."
    )
    quirks_mode: bool = False
    value_mode: Literal["computed", "used"] = "computed"


class Snapshot(Record):
    """One captured page: a self-contained HTML document with inline styles, plus what we know about it."""

    schema_version: int = Field(
        default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION, description="A newer one could not be read back."
    )
    id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$", description="snapshot_id(url, html)")
    url: str = Field(min_length=1, max_length=8192)
    requested_url: str | None = Field(default=None, max_length=8192)
    title: str = Field(default="", max_length=4096)
    description: str | None = Field(default=None, max_length=8192)
    og: dict[str, str] = Field(default_factory=dict)
    lang: str | None = Field(default=None, max_length=64)
    meta_viewport: str | None = Field(default=None, max_length=1024)
    viewport: Viewport = Field(default_factory=lambda: Viewport(width=1280, height=800))
    viewports: list[Viewport] = Field(
        default_factory=list,
        description="Every width captured, widest (the inline styles) first; the narrower ones are the @media "
        "rules of the <style data-tw-media> block. Empty for a capture that did not try several widths.",
    )
    single_width: str | None = Field(
        default=None, max_length=1024, description="Why only one width was kept though several were asked for."
    )
    device_pixel_ratio: float = Field(default=1.0, gt=0)
    user_agent: str = Field(default="", max_length=1024)
    captured_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: Literal["crawler", "extension", "cli", "import"] = "crawler"
    capture_version: str = ""
    html: str = Field(min_length=1)
    text: str = Field(default="", description="Visible text of the page, for topics and labels.")
    stats: CaptureStats
    warnings: list[str] = Field(default_factory=list)
    seed_format_html: str | None = Field(default=None, description="Only when asked for (--seed-format-text).")

    @model_validator(mode="after")
    def _check_id(self) -> Snapshot:
        expected = snapshot_id(self.url, self.html)
        if self.id is None:
            self.id = expected
        elif self.id != expected:
            raise ValueError(f"id {self.id} does not match the URL and HTML (expected {expected})")
        return self

    @property
    def domain(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.url).hostname or ""

    @classmethod
    def from_capture(
        cls, result: dict[str, Any], *, source: str, requested_url: str | None = None, **fields: Any
    ) -> Snapshot:
        """Build a Snapshot from what the capture script returned (`{ok: true, html, meta, stats, ...}`)."""
        meta = dict(result["meta"])
        meta.update(fields)
        return cls(
            url=meta.pop("url"),
            requested_url=requested_url,
            source=source,
            capture_version=result.get("version", ""),
            html=result["html"],
            stats=CaptureStats(**result["stats"]),
            warnings=result.get("warnings", []),
            seed_format_html=result.get("seedFormatHtml"),
            **meta,
        )


def upgrade_record(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored record of an older schema_version up to this one (no older versions exist yet)."""
    version = data.get("schema_version", 1)
    if version > SCHEMA_VERSION:
        raise ValueError(f"record has schema_version {version}, newer than this tinyweb ({SCHEMA_VERSION})")
    return data

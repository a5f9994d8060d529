"""The JSON the server answers with, and the studio's request bodies, as pydantic models (a snapshot's body is
`tinyweb.snapshot.Snapshot`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tinyweb.dataset.format import MAX_PLAN_SECTIONS, MAX_REQUEST_CHARS
from tinyweb.store import SnapshotRow

MAX_TOKENS = 4096  # a section or one-shot page budget: past SmolLM2's training length nothing good comes
MAX_TEMPERATURE = 2.0  # above it sampling is noise
MAX_SEED = 2**31 - 1
MAX_TAG_CHARS = 500  # a plan's <html> or <body> tag: a few classes and a style
MAX_LABEL_CHARS = 300  # a section's label is a line ("a hero with the headline …, a paragraph and 2 buttons")
ID_PATTERN = r"^[0-9a-f]{32}$"
RUN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"  # a run folder's name (or "default", the shipped run)
SOME_TEXT = r"\S"  # at least one character that is not white space

ErrorCode = Literal[
    "unauthorized",
    "forbidden",
    "payload_too_large",
    "unsupported_media_type",
    "invalid_record",
    "not_found",
    "method_not_allowed",
    "bad_request",
    "request_timeout",
    "misdirected_request",
    "internal_error",
    "unavailable",
    "conflict",
    "too_many_requests",
]


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestResult(Reply):
    id: str = Field(description="snapshot_id(url, html): the same page posted twice gets the same id.")
    created: bool = Field(description="False when the snapshot was already stored (answered with 200, not 201).")


class DeleteResult(Reply):
    id: str
    deleted: bool


class SnapshotPage(Reply):
    items: list[SnapshotRow]  # the store's listing row, as is
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, or null on the last one.")


class DomainCount(Reply):
    domain: str
    count: int


class Stats(Reply):
    count: int
    bytes: int = Field(description="Sum of the stored snapshots' HTML sizes (UTF-8).")
    domains: int
    top_domains: list[DomainCount]


class Health(Reply):
    status: Literal["ok"] = "ok"
    version: str
    proof: str | None = Field(
        default=None,
        description="With ?challenge=: base64url(HMAC-SHA256(token, 'tinyweb-server-proof\\n<port>\\n<challenge>')), "
        "the port being the one the request came in on. The extension checks it before it sends the token: "
        "a program that does not hold the token, or relays to a server on another port, cannot answer it.",
    )


class ErrorDetail(Reply):
    status: int
    code: ErrorCode
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorBody(Reply):
    """The one shape of every error the server answers with."""

    error: ErrorDetail


# --- the studio -------------------------------------------------------------------------------------------------


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def no_surrogates(value: str) -> str:
    """JSON can spell half a UTF-16 pair ("\\ud800"); SQLite cannot store it."""
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("holds half a UTF-16 surrogate pair")
    return value


RequestText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_REQUEST_CHARS,
        pattern=SOME_TEXT,
        description="The page to write, as a person asks for it: 'a landing page for a coffee shop'.",
    ),
]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_CHARS, pattern=SOME_TEXT)]
RunId = Annotated[str, Field(pattern=RUN_PATTERN, description="An id from GET /api/runs.")]
JobId = Annotated[str, Field(pattern=ID_PATTERN)]


class StudioSettings(Body):
    mode: Literal["composed", "one-shot"] = Field(
        default="composed", description="composed: a plan, then each section; one-shot: the whole page at once."
    )
    max_tokens: int = Field(
        default=0, ge=0, le=MAX_TOKENS, description="Composed: per section; one-shot: the page. 0: the run's budget."
    )
    temperature: float = Field(default=0.0, ge=0, le=MAX_TEMPERATURE, description="0: greedy.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED)


class PlanSpec(Body):
    """A plan to write, as the model wrote it or a person edited it."""

    html_tag: str = Field(default='<html lang="en">', max_length=MAX_TAG_CHARS)
    body_tag: str = Field(default="<body>", max_length=MAX_TAG_CHARS)
    labels: list[Label] = Field(min_length=1, max_length=MAX_PLAN_SECTIONS)

    _text = field_validator("html_tag", "body_tag")(no_surrogates)

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        return [no_surrogates(label) for label in labels]


class PlanRequest(Body):
    request: RequestText
    run: RunId
    settings: StudioSettings = Field(default_factory=StudioSettings)

    _request = field_validator("request")(no_surrogates)


class PageRequest(PlanRequest):
    plan: PlanSpec | None = Field(default=None, description="Composed: the sections to write (None: the model plans).")
    plan_job: JobId | None = Field(default=None, description="The plan job this plan came from: its time counts.")


class SectionRequest(Body):
    settings: StudioSettings | None = Field(default=None, description="None: the page's own settings.")


class RunInfo(Reply):
    id: str
    name: str
    shipped: bool = Field(description="The run that ships with tinyweb (else a folder under --runs).")
    composed: bool = Field(description="It learnt plans and sections; a run that did not writes one-shot.")


class QueueInfo(Reply):
    running: int
    waiting: int
    cap: int = Field(description="Most jobs running or waiting at once; past it a new one gets a 429.")


class RunList(Reply):
    available: bool = Field(description="False when this install cannot generate (no ML extra): `message` says why.")
    message: str | None
    runs: list[RunInfo]
    queue: QueueInfo


class PlanOut(Reply):
    html_tag: str
    body_tag: str
    labels: list[str]
    fallback: bool = Field(description="The model's plan did not parse: the fallback plan stands in.")
    new_tokens: int
    seconds: float


class SectionOut(Reply):
    label: str
    raw: str
    ended: bool = Field(description="The model ended it itself, not its budget (nor a cancel).")
    new_tokens: int
    seconds: float
    ending: Literal["closed", "end-of-text", "mark", "budget", "cancelled", ""] = Field(
        default="",
        description="How it ended: its root element closed, or end-of-text; else where it was cut: where it began "
        "another example (mark), at its budget, or by a cancel.",
    )


class JobInfo(Reply):
    id: str
    kind: Literal["plan", "page", "section"]
    state: Literal["queued", "running", "done", "cancelled", "failed"]
    run: str
    request: str
    position: int | None = Field(description="0: running; 1, 2…: waiting; null: finished.")
    key: str = Field(description="Opens this job's events and page URLs (as ?key=) for a few minutes.")
    events: str = Field(description="Server-sent events: queued, loading, plan, sections, section, done, error.")
    page: str = Field(description="The page as written so far, under the preview's sandbox CSP.")
    plan: PlanOut | None = None
    gallery_id: str | None = None
    error: str | None = None


class GalleryItem(Reply):
    id: str
    request: str
    run: str
    mode: str
    seconds: float = Field(description="The model's time for what the page holds.")
    status: Literal["done", "cancelled"]
    created_at: str
    updated_at: str
    screenshot: bool
    key: str = Field(description="Opens the page's html, download and screenshot URLs (as ?key=) for a few minutes.")


class GalleryPage(Reply):
    items: list[GalleryItem]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class GalleryEntry(GalleryItem):
    settings: StudioSettings
    plan: PlanOut | None
    sections: list[SectionOut]

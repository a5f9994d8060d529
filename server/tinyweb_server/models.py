"""The JSON the server answers with, as pydantic models (request bodies are `tinyweb.snapshot.Snapshot`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tinyweb.store import SnapshotRow

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

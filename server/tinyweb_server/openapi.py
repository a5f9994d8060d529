"""The OpenAPI 3.1 document of the server, built from the pydantic models (the studio's paths: studio_paths)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from tinyweb.snapshot import Snapshot
from tinyweb_server.handlers import CHALLENGE, DEFAULT_PAGE_SIZE, MAX_IDEMPOTENCY_KEY, MAX_OFFSET, MAX_PAGE_SIZE
from tinyweb_server.models import (
    ID_PATTERN,
    DeleteResult,
    ErrorBody,
    GalleryEntry,
    GalleryPage,
    Health,
    IngestResult,
    JobInfo,
    PageRequest,
    PlanRequest,
    RunList,
    SectionRequest,
    SnapshotPage,
    Stats,
)
from tinyweb_server.studio_routes import DEFAULT_GALLERY_PAGE

REF = "#/components/schemas/{model}"
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
KEY_PARAM = {"name": "key", "in": "query", "schema": {"type": "string", "maxLength": 200}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def json_content(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": ref(name)}}


def answer(description: str, name: str) -> dict[str, Any]:
    return {"description": description, "content": json_content(name)}


def errors(*statuses: int) -> dict[str, Any]:
    return {str(status): answer("error", "ErrorBody") for status in statuses}


# Where a stored snapshot's id leads: clients (and schemathesis' stateful tests) follow these from a POST's answer.
ID_LINKS = {
    name: {"operationId": operation, "parameters": {"id": "$response.body#/id"}}
    for name, operation in (
        ("GetSnapshot", "getSnapshot"),
        ("GetSnapshotHtml", "getSnapshotHtml"),
        ("DeleteSnapshot", "deleteSnapshot"),
    )
}


def page_params(default: int) -> list[dict[str, Any]]:
    limit = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": default}
    return [
        {"name": "limit", "in": "query", "schema": limit},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}},
    ]


def html_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def studio_paths(auth: list[dict[str, list[str]]]) -> dict[str, Any]:
    """The studio's routes: runs, jobs and their streams and pages, the gallery. Keyed routes take the bearer
    token or the short-lived `key` a job or gallery answer carries."""
    keyed = [*auth, {"jobKey": []}]
    queued = {"202": answer("queued", "JobInfo"), **errors(400, 401, 404, 408, 409, 413, 415, 422, 429, 503)}
    body = {
        name: {"required": True, "content": json_content(name)}
        for name in ("PlanRequest", "PageRequest", "SectionRequest")
    }
    index = {
        "name": "index",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0, "maximum": 999},
    }
    events = {"text/event-stream": {"schema": {"type": "string"}}}
    return {
        "/api/runs": {
            "get": {
                "operationId": "listRuns",
                "summary": "The runs the studio may use (the shipped one and those under --runs), and its queue",
                "security": auth,
                "responses": {"200": answer("the runs", "RunList"), **errors(401)},
            }
        },
        "/api/studio/plans": {
            "post": {
                "operationId": "postPlan",
                "summary": "Queue a job that writes a page's plan",
                "security": auth,
                "requestBody": body["PlanRequest"],
                "responses": queued,
            }
        },
        "/api/studio/pages": {
            "post": {
                "operationId": "postPage",
                "summary": "Queue a job that writes a page (from a plan, edited or not), kept in the gallery",
                "security": auth,
                "requestBody": body["PageRequest"],
                "responses": queued,
            }
        },
        "/api/gallery/{id}/sections/{index}": {
            "parameters": [ID_PARAM, index],
            "post": {
                "operationId": "postSection",
                "summary": "Queue a job that writes one section of a gallery page again",
                "security": auth,
                "requestBody": body["SectionRequest"],
                "responses": queued,
            },
        },
        "/api/studio/jobs/{id}": {
            "parameters": [ID_PARAM],
            "get": {
                "operationId": "getJob",
                "security": auth,
                "responses": {"200": answer("the job", "JobInfo"), **errors(401, 404)},
            },
            "delete": {
                "operationId": "cancelJob",
                "summary": "Cancel: a waiting job is dropped, a running one keeps what it wrote",
                "security": auth,
                "responses": {"200": answer("the job", "JobInfo"), **errors(401, 404)},
            },
        },
        "/api/studio/jobs/{id}/events": {
            "parameters": [ID_PARAM, KEY_PARAM],
            "get": {
                "operationId": "getJobEvents",
                "summary": "The job's events as server-sent events (with heartbeats) until it is finished",
                "security": keyed,
                "responses": {"200": {"description": "the stream", "content": events}, **errors(401, 404)},
            },
        },
        "/api/studio/jobs/{id}/page": {
            "parameters": [ID_PARAM, KEY_PARAM],
            "get": {
                "operationId": "getJobPage",
                "summary": "The page as written so far, under a sandbox Content-Security-Policy",
                "security": keyed,
                "responses": {"200": html_answer("the page"), **errors(401, 404)},
            },
        },
        "/api/gallery": {
            "get": {
                "operationId": "listGallery",
                "summary": "The generated pages, newest first",
                "security": auth,
                "parameters": page_params(DEFAULT_GALLERY_PAGE),
                "responses": {"200": answer("one page", "GalleryPage"), **errors(400, 401)},
            }
        },
        "/api/gallery/{id}": {
            "parameters": [ID_PARAM],
            "get": {
                "operationId": "getGalleryPage",
                "security": auth,
                "responses": {"200": answer("the page's record", "GalleryEntry"), **errors(401, 404)},
            },
            "delete": {
                "operationId": "deleteGalleryPage",
                "security": auth,
                "responses": {"200": answer("deleted", "DeleteResult"), **errors(401, 404)},
            },
        },
        **{
            f"/api/gallery/{{id}}/{name}": {
                "parameters": [ID_PARAM, KEY_PARAM],
                "get": {
                    "operationId": operation,
                    "summary": summary,
                    "security": keyed,
                    "responses": {"200": {"description": summary, "content": content}, **errors(401, 404)},
                },
            }
            for name, operation, summary, content in (
                (
                    "html",
                    "getGalleryHtml",
                    "The page, under a sandbox CSP",
                    {"text/html": {"schema": {"type": "string"}}},
                ),
                (
                    "download",
                    "downloadGalleryPage",
                    "The page as one file (attachment)",
                    {"text/html": {"schema": {"type": "string"}}},
                ),
                (
                    "screenshot",
                    "getGalleryScreenshot",
                    "The page at 1280 px, PNG",
                    {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                ),
            )
        },
    }


def build_openapi(version: str) -> dict[str, Any]:
    """OpenAPI 3.1: the routes by hand, the schemas from the models (`Snapshot` and the studio's requests as
    request bodies)."""
    requests = (Snapshot, PlanRequest, PageRequest, SectionRequest)
    replies = (IngestResult, DeleteResult, SnapshotPage, Stats, Health, ErrorBody, RunList, JobInfo, GalleryPage)
    models = [(model, "validation") for model in requests] + [
        (model, "serialization") for model in (*replies, GalleryEntry)
    ]
    _, definitions = models_json_schema(models, ref_template=REF)
    auth = [{"bearer": []}]
    preview_auth = [{"bearer": []}, {"queryToken": []}]
    idempotency_key = {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY}
    challenge = {"type": "string", "pattern": f"^{CHALLENGE.pattern}$"}
    paths = {
        "/api/snapshots": {
            "post": {
                "operationId": "postSnapshot",
                "summary": "Store one snapshot (answered after it is committed)",
                "security": auth,
                "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": idempotency_key}],
                "requestBody": {"required": True, "content": json_content("Snapshot")},
                "responses": {
                    "201": {**answer("stored", "IngestResult"), "links": ID_LINKS},
                    "200": {**answer("already stored: the same id", "IngestResult"), "links": ID_LINKS},
                    **errors(400, 401, 413, 415, 422),
                },
            },
            "get": {
                "operationId": "listSnapshots",
                "summary": "List snapshots, most recently stored first",
                "security": auth,
                "parameters": page_params(DEFAULT_PAGE_SIZE),
                "responses": {"200": answer("one page", "SnapshotPage"), **errors(400, 401)},
            },
        },
        "/api/snapshots/{id}": {
            "parameters": [ID_PARAM],
            "get": {
                "operationId": "getSnapshot",
                "summary": "One stored snapshot",
                "security": auth,
                "responses": {"200": answer("the record", "Snapshot"), **errors(401, 404)},
            },
            "delete": {
                "operationId": "deleteSnapshot",
                "summary": "Delete a snapshot",
                "security": auth,
                "responses": {"200": answer("deleted", "DeleteResult"), **errors(401, 404)},
            },
        },
        "/api/snapshots/{id}/html": {
            "parameters": [ID_PARAM],
            "get": {
                "operationId": "getSnapshotHtml",
                "summary": "The captured page, under a sandbox Content-Security-Policy",
                "security": preview_auth,
                "responses": {
                    "200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}},
                    **errors(401, 404),
                },
            },
        },
        "/api/stats": {
            "get": {
                "operationId": "getStats",
                "security": auth,
                "responses": {"200": answer("figures", "Stats"), **errors(401)},
            }
        },
        "/api/health": {
            "get": {
                "operationId": "getHealth",
                "security": [],
                "parameters": [{"name": "challenge", "in": "query", "schema": challenge}],
                "responses": {"200": answer("the server is up", "Health"), **errors(400)},
            }
        },
        **studio_paths(auth),
    }
    for item in paths.values():
        for method, operation in item.items():
            if method != "parameters":  # any request may be for a host not ours, or find every connection busy
                operation["responses"].update(errors(421, 503))
    paths["/api/snapshots"]["post"]["responses"].update(errors(408))
    return {
        "openapi": "3.1.0",
        "info": {"title": "tinyweb ingest server", "version": version},
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "the token `tinyweb serve` prints"},
                "queryToken": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "token",
                    "description": "the page preview only",
                },
                "jobKey": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "key",
                    "description": "a studio job's stream and page, a gallery page's html, download and screenshot: "
                    "the short-lived key their answers carry",
                },
            },
        },
    }

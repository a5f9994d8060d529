"""The OpenAPI 3.1 document of the server, built from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from tinyweb.snapshot import Snapshot
from tinyweb_server.handlers import CHALLENGE, DEFAULT_PAGE_SIZE, MAX_IDEMPOTENCY_KEY, MAX_OFFSET, MAX_PAGE_SIZE
from tinyweb_server.models import (
    DeleteResult,
    ErrorBody,
    Health,
    IngestResult,
    SnapshotPage,
    Stats,
)

REF = "#/components/schemas/{model}"
ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
}


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


def build_openapi(version: str) -> dict[str, Any]:
    """OpenAPI 3.1: the routes by hand, the schemas from the models (`Snapshot` as a request body)."""
    models = [(Snapshot, "validation")] + [
        (model, "serialization") for model in (IngestResult, DeleteResult, SnapshotPage, Stats, Health, ErrorBody)
    ]
    _, definitions = models_json_schema(models, ref_template=REF)
    auth = [{"bearer": []}]
    preview_auth = [{"bearer": []}, {"queryToken": []}]
    limit = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}
    page_params = [
        {"name": "limit", "in": "query", "schema": limit},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}},
    ]
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
                "parameters": page_params,
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
            },
        },
    }

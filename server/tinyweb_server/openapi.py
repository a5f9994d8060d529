"""The OpenAPI 3.1 document of the server, built from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from tinyweb.snapshot import Snapshot
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


def build_openapi(version: str) -> dict[str, Any]:
    """OpenAPI 3.1: the routes by hand, the schemas from the models (`Snapshot` as a request body)."""
    models = [(Snapshot, "validation")] + [
        (model, "serialization") for model in (IngestResult, DeleteResult, SnapshotPage, Stats, Health, ErrorBody)
    ]
    _, definitions = models_json_schema(models, ref_template=REF)
    auth = [{"bearer": []}]
    read_auth = [{"bearer": []}, {"queryToken": []}]
    page_params = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
    ]
    paths = {
        "/api/snapshots": {
            "post": {
                "summary": "Store one snapshot (answered after it is committed)",
                "security": auth,
                "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": json_content("Snapshot")},
                "responses": {
                    "201": answer("stored", "IngestResult"),
                    "200": answer("already stored: the same id", "IngestResult"),
                    **errors(400, 401, 413, 415, 422),
                },
            },
            "get": {
                "summary": "List snapshots, most recently stored first",
                "security": read_auth,
                "parameters": page_params,
                "responses": {"200": answer("one page", "SnapshotPage"), **errors(400, 401)},
            },
        },
        "/api/snapshots/{id}": {
            "parameters": [ID_PARAM],
            "get": {
                "summary": "One stored snapshot",
                "security": read_auth,
                "responses": {"200": answer("the record", "Snapshot"), **errors(401, 404)},
            },
            "delete": {
                "summary": "Delete a snapshot",
                "security": auth,
                "responses": {"200": answer("deleted", "DeleteResult"), **errors(401, 404)},
            },
        },
        "/api/snapshots/{id}/html": {
            "parameters": [ID_PARAM],
            "get": {
                "summary": "The captured page, under a sandbox Content-Security-Policy",
                "security": read_auth,
                "responses": {
                    "200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}},
                    **errors(401, 404),
                },
            },
        },
        "/api/stats": {"get": {"security": read_auth, "responses": {"200": answer("figures", "Stats"), **errors(401)}}},
        "/api/health": {"get": {"security": [], "responses": {"200": answer("the server is up", "Health")}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "tinyweb ingest server", "version": version},
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "the token `tinyweb serve` prints"},
                "queryToken": {"type": "apiKey", "in": "query", "name": "token", "description": "GET routes only"},
            },
        },
    }

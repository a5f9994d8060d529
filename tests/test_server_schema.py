"""Schemathesis against a real `tinyweb serve` on 127.0.0.1, driven by the server's own /openapi.json.

Every operation gets coverage cases (each bound and type of the schema, both sides) and up to MAX_EXAMPLES
generated requests, valid and invalid, all with the pairing token; then linked scenarios follow the spec's links
from a POST's answer to the GET, GET html and DELETE of what it stored. Checks: no 5xx, every answer one the
schema documents (status, content type, body schema), and no valid request refused as malformed. The tests at
the end pin the edge values these runs led to.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server_process import ServeProcess
from tests.test_server import make_snapshot
from tests.test_studio import RUN, tiny_run
from tinyweb.snapshot import CaptureStats, Snapshot
from tinyweb.store import Store
from tinyweb_server.handlers import tinyweb_version
from tinyweb_server.openapi import build_openapi

MAX_EXAMPLES = 25  # generated requests per operation: enough to find a crash, a few seconds in all
SEEDED = 3  # snapshots stored before the run, so GETs by id also reach their 200 answers
VALID_ID = re.compile(r"[0-9a-f]{32}")
STATEFUL_EXAMPLES = 15  # linked scenarios: a POST, then calls on the id it answered
STATEFUL_STEPS = 8
STUDIO_QUEUE = 1  # one studio job at a time: generated requests cannot flood the worker (the rest get a 429)

# Collected from the same document the server serves (pytest collects before any server is up; the `server`
# fixture checks that the served /openapi.json is this very document).
OPENAPI = build_openapi(tinyweb_version())
schema = schemathesis.openapi.from_dict(OPENAPI)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")


def valid_requests_are_not_refused(ctx, response, case) -> None:
    """A request the schema calls valid is never malformed (400, 415), and a 422 for it only names rules a JSON
    schema cannot state: the id must be the hash of URL and HTML, and the URL must parse (details at loc [])."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    assert response.status_code not in (400, 413, 415), f"valid request refused: {response.text[:300]}"
    if response.status_code == 422:
        fields = [detail["loc"] for detail in response.json()["error"]["details"] if detail["loc"]]
        assert not fields, f"the schema allowed what the server refused at {fields}: {response.text[:300]}"


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    valid_requests_are_not_refused,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The server, with SEEDED snapshots and a tiny random run the studio's jobs can name."""
    folder = tmp_path_factory.mktemp("schema")
    data_dir = folder / "data"
    with Store(data_dir) as store:
        store.add_many([make_snapshot(n) for n in range(SEEDED)])
    runs = tiny_run(folder).parent
    with ServeProcess(data_dir, args=("--runs", str(runs), "--studio-queue", str(STUDIO_QUEUE))) as process:
        with urllib.request.urlopen(process.url + "openapi.json", timeout=10) as response:
            assert json.load(response) == OPENAPI, "the served /openapi.json is not the document under test"
        yield process


@pytest.fixture(scope="module")
def seeded_ids(server) -> list[str]:
    return [make_snapshot(n).id for n in range(SEEDED)]


def token_header(server: ServeProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def snapshot_at(url: str) -> Snapshot:
    return Snapshot(
        url=url, html="<p>a page of its own</p>", stats=CaptureStats(element_count=1, raw_html_bytes=0, capture_ms=1)
    )


def post_throwaway(server: ServeProcess, label: str) -> str:
    """Store a snapshot of its own for one DELETE case and return its id."""
    snap = snapshot_at(f"https://delete.example/{label}")
    request = urllib.request.Request(
        server.url + "api/snapshots",
        data=snap.model_dump_json().encode(),
        headers={**token_header(server), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["id"]


def aim_at_stored(case, server: ServeProcess, seeded_ids: list[str]) -> None:
    """Point every other generated id at a stored snapshot, so 200 answers are checked too.

    GETs read one of the seeded snapshots. A DELETE only ever deletes a snapshot posted for it alone, so no
    case can delete what another case reads, whatever order or examples Hypothesis chooses.
    """
    generated = (case.path_parameters or {}).get("id")
    if not isinstance(generated, str) or not VALID_ID.fullmatch(generated) or int(generated[-1], 16) % 2:
        return  # invalid ids (negative mode) and half the valid ones stay as generated: mostly 404s
    if case.method == "DELETE":
        case.path_parameters["id"] = post_throwaway(server, generated)
    else:
        case.path_parameters["id"] = seeded_ids[int(generated[:8], 16) % len(seeded_ids)]


def aim_at_the_run(case) -> None:
    """Half the studio jobs with a valid body name the server's run, so they are queued (or refused with a 429
    while another is in flight), not all answered 404 for a run that is not there."""
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and isinstance(body.get("run"), str) and len(str(body.get("request"))) % 2 == 0:
        body["run"] = RUN


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_openapi(case, server, seeded_ids):
    aim_at_stored(case, server, seeded_ids)
    aim_at_the_run(case)
    response = case.call_and_validate(base_url=server.url.rstrip("/"), headers=token_header(server), checks=CHECKS)
    if response.status_code == 202:  # a studio job: cancelled at once, so the run stays a few seconds of work
        assert request_json(server, "DELETE", f"api/studio/jobs/{response.json()['id']}")[0] == 200


def reset_to_seeded(server: ServeProcess, seeded_ids: list[str]) -> None:
    """Delete everything but the seeded snapshots, so each scenario starts from the same server state."""
    status, page = request_json(server, "GET", "api/snapshots?limit=500")
    assert status == 200 and page["total"] <= 500, page
    for item in page["items"]:
        if item["id"] not in seeded_ids:
            assert request_json(server, "DELETE", f"api/snapshots/{item['id']}")[0] == 200


def test_linked_calls_match_the_openapi(server, seeded_ids):
    """Schemathesis follows the spec's links from a POST's answer: whatever it stored must read back as a
    Snapshot (and its page as HTML), and deletes only what that scenario posted."""
    Workflow = schema.as_state_machine()
    base_url = server.url.rstrip("/")

    class TinywebWorkflow(Workflow):
        def setup(self) -> None:
            # Hypothesis replays choice sequences: the same requests must meet the same state and get the same
            # answers (a POST answered 201 once and 200 the next time would change which links exist).
            reset_to_seeded(server, seeded_ids)

        def get_call_kwargs(self, case):
            return {"base_url": base_url, "headers": token_header(server)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    TinywebWorkflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_seeded_snapshots_survive_the_run(server, seeded_ids):
    """The DELETE cases deleted only their own snapshots: every seeded one is still stored, unchanged."""
    with Store(server.data_dir) as store:
        for n, snapshot_id in enumerate(seeded_ids):
            stored = store.get(snapshot_id)
            assert isinstance(stored, Snapshot) and stored.html == make_snapshot(n).html


def request_json(server: ServeProcess, method: str, path: str, body: str | None = None) -> tuple[int, dict]:
    """(status, JSON answer) of one API request with the token; error statuses are answers too."""
    headers = {**token_header(server), "Content-Type": "application/json"}
    request = urllib.request.Request(server.url + path, data=body and body.encode(), headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


# Values at the edges of what the JSON of a Snapshot can say; each was stored and then unreadable, or a 500.
EDGE_RECORDS = {  # name: (JSON text in a valid record, replaced by, where the 422 points)
    "newer_schema_version": ('"schema_version":1', '"schema_version":2', ["schema_version"]),
    "schema_version_overflow": ('"schema_version":1', '"schema_version":1' + "0" * 30, ["schema_version"]),
    "infinite_pixel_ratio": ('"device_pixel_ratio":1.0', '"device_pixel_ratio":1e999', ["device_pixel_ratio"]),
    "infinite_capture_ms": ('"capture_ms":1.0', '"capture_ms":1e999', ["stats", "capture_ms"]),
}


@pytest.mark.parametrize("name", EDGE_RECORDS)
def test_edge_values_are_refused_not_stored_unreadable(server, name):
    """Pydantic reads 1e999 as infinity but writes it as null, and a record newer than this tinyweb cannot be
    read back: each is refused with a 422 naming the field, instead of a 201 and then a 500 on every GET."""
    text, replacement, loc = EDGE_RECORDS[name]
    body = snapshot_at(f"https://edge.example/{name}").model_dump_json(exclude={"id"})
    assert text in body
    status, answer = request_json(server, "POST", "api/snapshots", body.replace(text, replacement))
    assert status == 422, answer
    assert [detail["loc"] for detail in answer["error"]["details"]] == [loc]


def test_offset_past_sqlite_integers_is_a_400(server):
    assert request_json(server, "GET", f"api/snapshots?offset={2**63 - 1}")[0] == 200
    status, answer = request_json(server, "GET", f"api/snapshots?offset={2**63}")
    assert status == 400 and "offset must be from 0 to" in answer["error"]["message"]

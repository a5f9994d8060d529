"""The studio's routes: the runs, jobs (a plan, a page, one section again) with their event streams and pages, and
the gallery of generated pages (tinyweb_server.studio holds the queue and the worker)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tinyweb.store import StudioPage
from tinyweb_server.handlers import SNAPSHOT_CSP, deleted, next_offset, page_window, read_record, reply, stored
from tinyweb_server.keys import GUARD_KEY, STORE_KEY, STUDIO_KEY
from tinyweb_server.middlewares import KEY_ROUTE, ApiError
from tinyweb_server.models import (
    GalleryEntry,
    GalleryItem,
    GalleryPage,
    JobInfo,
    PageRequest,
    PlanRequest,
    QueueInfo,
    RunInfo,
    RunList,
    SectionRequest,
    StudioSettings,
)
from tinyweb_server.studio import Job, Studio

routes = web.RouteTableDef()
JOB_PATH = "/api/studio/jobs/{id:[0-9a-f]{32}}"
GALLERY_PATH = "/api/gallery/{id:[0-9a-f]{32}}"
STUDIO_BODY_BYTES = 64 * 1024  # a request, settings and a plan of eight labels: a few KB
HEARTBEAT_S = 10  # an idle stream gets a comment this often, so the client (and any proxy) knows it is alive
DEFAULT_GALLERY_PAGE = 24
WAITING_PAGE = "<!DOCTYPE html><html><body><p>Nothing written yet.</p></body></html>"


def studio(request: web.Request) -> Studio:
    return request.app[STUDIO_KEY]


def opened(request: web.Request, scope: str, ident: str) -> None:
    """A keyed route: the token (checked already by auth_middleware) or a key for this very job or page."""
    if "Authorization" in request.headers:
        return
    if not studio(request).opens(scope, ident, request.query.get("key", "")):
        raise ApiError(401, "the key is wrong or has expired: ask the API for the job or page again for a new one")


def job_info(request: web.Request, job: Job) -> JobInfo:
    key = studio(request).key("job", job.id)
    return JobInfo.model_validate(
        {
            "id": job.id,
            "kind": job.kind,
            "state": job.state,
            "run": job.run.id,
            "request": job.request,
            "position": studio(request).position(job),
            "key": key,
            "events": f"/api/studio/jobs/{job.id}/events?key={key}",
            "page": f"/api/studio/jobs/{job.id}/page?key={key}",
            "plan": job.plan,
            "gallery_id": job.gallery_id,
            "error": job.error,
        }
    )


def page_response(html: str) -> web.Response:
    """A generated page under the preview's sandbox CSP: it renders with its styles, nothing in it runs."""
    response = web.Response(text=html, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = SNAPSHOT_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/api/runs")
async def list_runs(request: web.Request) -> web.Response:
    """The runs a job may name, whether this install can generate at all, and the queue."""
    found = await asyncio.to_thread(studio(request).runs)
    runs = [
        RunInfo(id=r.id, name="the shipped run" if r.shipped else r.id, shipped=r.shipped, composed=r.composed)
        for r in found.values()
    ]
    s = studio(request)
    queue = QueueInfo(running=int(s.running is not None), waiting=len(s.waiting), cap=s.cap)
    return reply(RunList(available=s.unavailable is None, message=s.unavailable, runs=runs, queue=queue))


async def read_studio(request: web.Request, model: type[Any]) -> Any:
    body, _ = await read_record(request, model, "the job", STUDIO_BODY_BYTES)
    return body


@routes.post("/api/studio/plans")
async def post_plan(request: web.Request) -> web.Response:
    """Queue a job that writes the plan of a page (composed runs only)."""
    body: PlanRequest = await read_studio(request, PlanRequest)
    run = await asyncio.to_thread(studio(request).run, body.run)
    if not run.composed:
        raise ApiError(409, f"run {run.id!r} learnt whole pages only: it has no plan to write (generate one-shot)")
    job = Job("plan", run, body.request, body.settings.model_dump())
    return reply(job_info(request, studio(request).submit(job)), status=202)


@routes.post("/api/studio/pages")
async def post_page(request: web.Request) -> web.Response:
    """Queue a job that writes a page: the plan given (or the model's own), then each section; or one-shot."""
    body: PageRequest = await read_studio(request, PageRequest)
    run = await asyncio.to_thread(studio(request).run, body.run)
    plan = None
    if body.plan is not None:
        plan = body.plan.model_dump() | {"fallback": False, "new_tokens": 0, "seconds": 0.0}
        if body.plan_job is not None:  # the plan's own time counts in the page's
            written = studio(request).job(body.plan_job)
            if written.kind != "plan" or written.plan is None or written.request != body.request:
                raise ApiError(409, f"job {body.plan_job} is not a finished plan of this request")
            plan |= {"new_tokens": written.plan["new_tokens"], "seconds": written.plan["seconds"]}
    job = Job("page", run, body.request, body.settings.model_dump(), plan=plan)
    return reply(job_info(request, studio(request).submit(job)), status=202)


@routes.post(GALLERY_PATH + "/sections/{index:[0-9]{1,3}}")
async def post_section(request: web.Request) -> web.Response:
    """Queue a job that writes one section of a gallery page again; the page is updated when it is done."""
    body: SectionRequest = await read_studio(request, SectionRequest)
    page = await gallery_page(request)
    index = int(request.match_info["index"])
    if page.plan is None:
        raise ApiError(409, "a one-shot page has no sections: generate it again instead")
    if index >= len(page.sections):
        raise ApiError(404, f"the page has {len(page.sections)} sections: there is no section {index}")
    run = await asyncio.to_thread(studio(request).run, page.run)
    settings = (body.settings or StudioSettings.model_validate(page.settings)).model_dump() | {"mode": "composed"}
    job = Job("section", run, page.request, settings, page.plan, page.id, index, page.sections)
    return reply(job_info(request, studio(request).submit(job)), status=202)


@routes.get(JOB_PATH)
async def get_job(request: web.Request) -> web.Response:
    return reply(job_info(request, studio(request).job(request.match_info["id"])))


@routes.delete(JOB_PATH)
async def cancel_job(request: web.Request) -> web.Response:
    """Cancel: a waiting job is dropped, a running one stops within a token and keeps its partial page."""
    job = studio(request).job(request.match_info["id"])
    await studio(request).cancel(job)
    return reply(job_info(request, job))


@routes.get(JOB_PATH + "/events", name=KEY_ROUTE + "job-events")
async def job_events(request: web.Request) -> web.StreamResponse:
    """The job's events as server-sent events, from the start (or after Last-Event-ID), until it is finished."""
    job = studio(request).job(request.match_info["id"])
    opened(request, "job", job.id)
    last = request.headers.get("Last-Event-ID", "")
    sent = int(last) + 1 if last.isdigit() and len(last) < 10 else 0
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    async with request.app[GUARD_KEY].stream(request):
        await response.prepare(request)
        while True:
            for event in job.events[sent:]:
                await response.write(f"id: {event['seq']}\ndata: {json.dumps(event)}\n\n".encode())
                sent = event["seq"] + 1
            if job.finished or studio(request).closing:
                break
            changed = job.changed
            try:
                await asyncio.wait_for(changed.wait(), HEARTBEAT_S)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
        await response.write_eof()
    return response


@routes.get(JOB_PATH + "/page", name=KEY_ROUTE + "job-page")
async def job_page(request: web.Request) -> web.Response:
    """The page as written so far (the framework rules it uses inline)."""
    job = studio(request).job(request.match_info["id"])
    opened(request, "job", job.id)
    return page_response(job.html or WAITING_PAGE)


def gallery_item(request: web.Request, fields: dict[str, Any]) -> dict[str, Any]:
    return fields | {"key": studio(request).key("gallery", fields["id"])}


@routes.get("/api/gallery")
async def list_gallery(request: web.Request) -> web.Response:
    """The generated pages, newest first: ?limit=24&offset=0."""
    limit, offset = page_window(request, DEFAULT_GALLERY_PAGE)
    rows, total = await asyncio.to_thread(request.app[STORE_KEY].studio_pages, limit, offset)
    items = [GalleryItem.model_validate(gallery_item(request, row.__dict__)) for row in rows]
    following = next_offset(offset, len(items), total)
    return reply(GalleryPage(items=items, total=total, limit=limit, offset=offset, next_offset=following))


async def gallery_page(request: web.Request) -> StudioPage:
    return await stored(request, request.app[STORE_KEY].studio_page, "gallery page")


@routes.get(GALLERY_PATH)
async def get_gallery_page(request: web.Request) -> web.Response:
    page = await gallery_page(request)
    fields = {k: v for k, v in page.__dict__.items() if k not in ("html", "screenshot")}
    fields |= {"mode": page.settings.get("mode", "composed"), "screenshot": page.screenshot is not None}
    return reply(GalleryEntry.model_validate(gallery_item(request, fields)))


@routes.delete(GALLERY_PATH)
async def delete_gallery_page(request: web.Request) -> web.Response:
    return await deleted(request, request.app[STORE_KEY].delete_studio_page, "gallery page")


@routes.get(GALLERY_PATH + "/html", name=KEY_ROUTE + "gallery-html")
async def gallery_html(request: web.Request) -> web.Response:
    opened(request, "gallery", request.match_info["id"])
    return page_response((await gallery_page(request)).html)


@routes.get(GALLERY_PATH + "/download", name=KEY_ROUTE + "gallery-download")
async def gallery_download(request: web.Request) -> web.Response:
    """The page as one HTML file to keep: the framework rules it uses inline."""
    opened(request, "gallery", request.match_info["id"])
    response = page_response((await gallery_page(request)).html)
    response.headers["Content-Disposition"] = f'attachment; filename="tinyweb-{request.match_info["id"][:8]}.html"'
    return response


@routes.get(GALLERY_PATH + "/screenshot", name=KEY_ROUTE + "gallery-screenshot")
async def gallery_screenshot(request: web.Request) -> web.Response:
    opened(request, "gallery", request.match_info["id"])
    page = await gallery_page(request)
    if page.screenshot is None:
        raise ApiError(404, "this page has no screenshot (Chromium could not render it)")
    return web.Response(body=page.screenshot, content_type="image/png", headers={"Cache-Control": "no-store"})

"""The openai labeller against a real OpenAI-compatible server on loopback that misbehaves on request."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from aiohttp import web

from tinyweb.dataset.labelers import SYSTEM_PROMPT, LabelFailure, LabelInput, make_labeler, page_brief
from tinyweb.dataset.labelers.openai import OpenAILabeler
from tinyweb.errors import UsageError
from tinyweb.staticserver import StaticServer

TIMEOUT = 0.5  # the labeller's per-request timeout in these tests
SLOW_SECONDS = 1.2  # how long the "slow" page takes: well past TIMEOUT
KEY_ENV = "TINYWEB_TEST_OPENAI_KEY"


class FakeChatServer:
    """Answers /v1/chat/completions by the page title in the user message, and records what it was sent."""

    def __init__(self) -> None:
        self.url = ""  # set once the server is listening
        self.reset()

    def reset(self) -> None:
        self.requests: list[tuple[dict[str, str], dict]] = []
        self.tries: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        title = body["messages"][1]["content"].splitlines()[0].removeprefix("Title: ")
        self.tries[title] = self.tries.get(title, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.answer(title, self.tries[title])
        finally:
            self.in_flight -= 1

    async def answer(self, title: str, tries: int) -> web.Response:
        if title == "always-500" or (title == "flaky" and tries == 1):
            return web.Response(status=500, text="upstream model crashed")
        if title == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        if title == "unauthorized":
            return web.json_response({"error": {"message": "invalid api key"}}, status=401)
        if title.startswith("ratelimited") and tries == 1:
            return web.Response(status=429, text="slow down", headers={"Retry-After": title.split()[1]})
        if title == "not-json":
            return web.Response(text="<html>gateway page</html>", content_type="text/html")
        if title == "no-choices":
            return web.json_response({"id": "x", "object": "chat.completion", "choices": []})
        if title.startswith("busy"):
            await asyncio.sleep(0.05)
        content = "Home | Foo" if title == "boilerplate" else f"A landing page for {title} with a menu and contact form"
        return web.json_response(completion(content))


def completion(content: str) -> dict:
    message = {"role": "assistant", "content": content}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return {"id": "chatcmpl-1", "object": "chat.completion", "choices": [choice]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    fake = FakeChatServer()
    routes = [web.post("/v1/chat/completions", fake.handle)]
    with StaticServer(tmp_path_factory.mktemp("empty"), routes=routes) as static:
        fake.url = static.url.rstrip("/")
        yield fake


@pytest.fixture
def chat(server: FakeChatServer) -> FakeChatServer:
    server.reset()
    return server


def page(title: str) -> LabelInput:
    return LabelInput(
        id=title,
        url=f"https://example.com/{title}",
        title=title,
        description=f"All about {title}.",
        headings=["Menu", "Contact"],
        text="Fresh bread every morning.",
        topic="bakery",
        keywords=["bread", "cake"],
        outline=["navigation bar", "contact form"],
    )


def labeler(url: str, **options) -> OpenAILabeler:
    options = {"timeout": TIMEOUT, "retries": 2, "backoff": 0.01, **options}
    return OpenAILabeler(url, **options)


def test_labels_pages_in_order_and_reports_each_failure(chat: FakeChatServer):
    titles = ["bakery", "always-500", "slow", "flaky", "boilerplate", "plumber"]
    done: list[int] = []
    results = labeler(chat.url).label([page(t) for t in titles], done.append)

    assert results[0] == "A landing page for bakery with a menu and contact form"
    assert results[5] == "A landing page for plumber with a menu and contact form"
    assert results[3] == "A landing page for flaky with a menu and contact form"
    failures = {titles[i]: r for i, r in enumerate(results) if isinstance(r, LabelFailure)}
    assert {t: f.reason for t, f in failures.items()} == {
        "always-500": "http_500",
        "slow": "timeout",
        "boilerplate": "invalid",
    }
    assert "upstream model crashed" in failures["always-500"].detail
    assert chat.tries["always-500"] == 3 and chat.tries["flaky"] == 2 and chat.tries["boilerplate"] == 1
    assert sum(done) == len(titles)


def test_counts_retries(chat: FakeChatServer):
    openai = labeler(chat.url)
    assert openai.label([page("flaky"), page("bakery")]) == [
        "A landing page for flaky with a menu and contact form",
        "A landing page for bakery with a menu and contact form",
    ]
    assert openai.retries_made == 1


def test_sends_model_messages_and_bearer_key(chat: FakeChatServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test-123")
    bakery = page("bakery")
    labeler(chat.url, model="tiny-chat", api_key_env=KEY_ENV, temperature=0.0, max_tokens=50).label([bakery])

    [(headers, body)] = chat.requests
    assert headers["Authorization"] == "Bearer sk-test-123"
    assert body == {
        "model": "tiny-chat",
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": page_brief(bakery)}],
        "temperature": 0.0,
        "max_tokens": 50,
    }


def test_no_key_means_no_authorization_header(chat: FakeChatServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    labeler(chat.url, api_key_env=KEY_ENV).label([page("bakery")])
    [(headers, _)] = chat.requests
    assert "Authorization" not in headers


def test_never_exceeds_concurrency(chat: FakeChatServer):
    results = labeler(chat.url, concurrency=3).label([page(f"busy {i}") for i in range(12)])
    assert all(isinstance(r, str) for r in results)
    assert chat.max_in_flight == 3


def test_401_is_not_retried(chat: FakeChatServer):
    openai = labeler(chat.url)
    [result] = openai.label([page("unauthorized")])
    assert isinstance(result, LabelFailure) and result.reason == "http_401"
    assert "invalid api key" in result.detail
    assert chat.tries["unauthorized"] == 1 and openai.retries_made == 0


def test_honours_retry_after(chat: FakeChatServer):
    start = time.monotonic()
    [result] = labeler(chat.url).label([page("ratelimited 0.4")])
    assert result == "A landing page for ratelimited 0.4 with a menu and contact form"
    assert time.monotonic() - start >= 0.4


def test_caps_retry_after(chat: FakeChatServer):
    openai = labeler(chat.url)
    openai.max_retry_delay = 0.05
    start = time.monotonic()
    [result] = openai.label([page("ratelimited 120")])
    assert isinstance(result, str) and time.monotonic() - start < 5


@pytest.mark.parametrize("title", ["not-json", "no-choices"])
def test_malformed_answer_is_bad_response(chat: FakeChatServer, title: str):
    [result] = labeler(chat.url).label([page(title)])
    assert isinstance(result, LabelFailure) and result.reason == "bad_response"
    assert chat.tries[title] == 1


def test_refused_connection_is_retried_then_fails():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    openai = labeler(f"http://127.0.0.1:{port}", retries=1)
    [result] = openai.label([page("bakery")])
    assert isinstance(result, LabelFailure) and result.reason == "connection"
    assert openai.retries_made == 1


def test_works_from_a_thread_and_inside_a_running_loop(chat: FakeChatServer):
    openai = labeler(chat.url)
    expected = ["A landing page for bakery with a menu and contact form"]
    results: list = []
    worker = threading.Thread(target=lambda: results.append(openai.label([page("bakery")])))
    worker.start()
    worker.join(10)
    assert results == [expected]

    async def from_a_coroutine():
        return openai.label([page("bakery")])

    assert asyncio.run(from_a_coroutine()) == expected


def test_empty_input_sends_nothing(chat: FakeChatServer):
    assert labeler(chat.url).label([]) == []
    assert chat.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:8080/v1",
        "http://127.0.0.1:8080/v1/",
        "http://127.0.0.1:8080/v1/chat/completions",
        " HTTP://127.0.0.1:8080/v1/chat/completions/ ",
    ],
)
def test_url_forms_normalise_to_the_chat_endpoint(url: str):
    openai = OpenAILabeler(url, model="m")
    assert openai.endpoint == "http://127.0.0.1:8080/v1/chat/completions"
    assert openai.version == OpenAILabeler("http://127.0.0.1:8080/v1", model="m").version
    assert openai.version.startswith("openai/m@http://127.0.0.1:8080/v1/p")


def test_version_changes_with_model_and_server():
    versions = {
        OpenAILabeler("http://127.0.0.1:8080", model="a").version,
        OpenAILabeler("http://127.0.0.1:8080", model="b").version,
        OpenAILabeler("http://127.0.0.1:9090", model="a").version,
    }
    assert len(versions) == 3


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "127.0.0.1:8080", "http://", "", "localhost"])
def test_bad_url_is_a_usage_error(url: str):
    with pytest.raises(UsageError, match="http"):
        OpenAILabeler(url)


def test_make_labeler_builds_it(chat: FakeChatServer):
    openai = make_labeler("openai", url=chat.url, model="tiny", timeout=TIMEOUT)
    assert isinstance(openai, OpenAILabeler) and openai.name == "openai"
    assert openai.label([page("bakery")]) == ["A landing page for bakery with a menu and contact form"]
    assert chat.requests[0][1]["model"] == "tiny"


def test_the_label_stage_falls_back_to_extractive_on_a_500_and_a_timeout(chat: FakeChatServer, tmp_path):
    """Through the label stage: pages the server fails on get the extractive label, the failure reported,
    and only the server's own labels are stored under `openai`."""
    from tinyweb.dataset.label import LabelOptions, label
    from tinyweb.store import Store

    pages = [page(t) for t in ("bakery", "always-500", "slow")]
    for n, p in enumerate(pages):
        p.id = f"{n:032x}"
    options = LabelOptions(
        labeler="openai",
        labeler_url=chat.url,
        labeler_timeout=TIMEOUT,
        labeler_extra={"retries": 1, "backoff": 0.01},
    )
    with Store(tmp_path / "data") as store:
        result, section = label(store, pages, options)
        stored = {(row.snapshot_id, row.source) for row in store.labels()}
        again, second = label(store, pages, options)  # the server's label is reused, the failures retried
    assert result[pages[0].id] == {
        "label": "A landing page for bakery with a menu and contact form",
        "source": "openai",
    }
    assert result[pages[1].id]["source"] == "extractive" and result[pages[1].id]["fallback"] == "http_500"
    assert result[pages[2].id]["source"] == "extractive" and result[pages[2].id]["fallback"] == "timeout"
    assert section["fallbacks"] == 2 and section["fallback_reasons"] == {"http_500": 1, "timeout": 1}
    assert [f["id"] for f in section["fallback_pages"]] == [pages[1].id, pages[2].id]
    assert stored == {(pages[0].id, "openai"), (pages[1].id, "extractive"), (pages[2].id, "extractive")}
    assert second["reused"] == 1 and second["fallbacks"] == 2 and again == result

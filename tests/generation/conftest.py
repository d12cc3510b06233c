"""Fixtures of the generation tests: real articles to ground drafts in, an editor,
fake providers, and a local server speaking the OpenAI chat and images protocol."""

import base64
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Group
from django.utils.html import escape
from PIL import Image
from wagtail.models import Collection, Locale, Page

from cms.demo import demo_articles_read
from cms.models import ArticlePage, SectionPage
from generation.providers.base import Draft, TextProvider, WriteRequest
from tests.factories import ArticlePageFactory, SectionPageFactory, TopicFactory


@dataclass
class Library:
    section: SectionPage
    articles: dict[str, ArticlePage]  # by slug
    topics: dict[str, object]


# Six of the demo's health articles: four about sleep, two that only touch it.
LIBRARY_SLUGS = [
    "why-naps-work-and-when-they-backfire",
    "light-darkness-and-the-body-clock",
    "screens-scrolling-and-a-good-nights-sleep",
    "loneliness-is-a-health-issue-too",
    "slow-breathing-and-the-stress-response",
    "the-underrated-power-of-a-daily-walk",
]

# The example: a sleep brief that also drew on the vaccines article (a
# shared "biology" topic), and the only article on night shifts.
FEEDBACK_LIBRARY_SLUGS = LIBRARY_SLUGS + [
    "how-vaccines-teach-the-immune-system",
    "the-tiny-clocks-inside-every-living-cell",
]


def _library_build(
    slugs: list[str] = LIBRARY_SLUGS, *, quotes: bool = False
) -> Library:
    section = SectionPageFactory(title="Health", slug="health")
    topics: dict[str, object] = {}
    articles: dict[str, ArticlePage] = {}
    by_slug = {record["slug"]: record for record in demo_articles_read()}
    records = [by_slug[slug] for slug in slugs]
    for record in records:
        for slug in record["topics"]:
            if slug not in topics:
                topics[slug] = TopicFactory(
                    name=slug.replace("-", " ").capitalize(), slug=slug
                )
        kinds = (
            ("paragraph", "heading", "quote") if quotes else ("paragraph", "heading")
        )
        body = [
            ("paragraph", f"<p>{escape(block['text'])}</p>")
            if block["type"] == "paragraph"
            else ("heading", block["text"])
            if block["type"] == "heading"
            else ("quote", {"text": block["text"], "attribution": ""})
            for block in record["body"]
            if block["type"] in kinds
        ]
        articles[record["slug"]] = ArticlePageFactory(
            section=section,
            title=record["title"],
            slug=record["slug"],
            standfirst=record["standfirst"],
            body=body,
            topics=[topics[slug] for slug in record["topics"]],
        )
    return Library(section=section, articles=articles, topics=topics)


@pytest.fixture
def library(db) -> Library:
    """Six health articles of the demo data, live, with their topics."""
    return _library_build()


@pytest.fixture
def feedback_library(db) -> Library:
    """The library plus the vaccines and the cell clocks (night shifts) articles,
    with their quotes, as `seed_demo` loads them."""
    return _library_build(FEEDBACK_LIBRARY_SLUGS, quotes=True)


@pytest.fixture
def library_committed(transactional_db) -> Library:
    """The library on a database a real worker shares. An earlier transactional
    test may have flushed the migrations' rows, so the page and collection roots
    come back first (the workflow and prompt templates rebuild themselves)."""
    locale = Locale.objects.first() or Locale.objects.create(language_code="en")
    if Page.get_first_root_node() is None:
        Page.add_root(instance=Page(title="Root", slug="root", locale=locale))
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    return _library_build()


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user(
        username="ada", password="x", first_name="Ada", last_name="Lovelace"
    )
    user.groups.add(Group.objects.get(name="Editors"))
    return user


class ScriptedTextProvider(TextProvider):
    """Answers with a draft built by `make(request)`; records every request."""

    name = "scripted"
    model = "scripted-1"

    def __init__(self, make: Callable[[WriteRequest], Draft]) -> None:
        self.make = make
        self.requests: list[WriteRequest] = []

    def write(self, request: WriteRequest) -> Draft:
        self.requests.append(request)
        return self.make(request)


@pytest.fixture
def use_text_provider(monkeypatch):
    """Make the pipeline use the given text provider instance."""

    def use(provider: TextProvider) -> TextProvider:
        monkeypatch.setattr(
            "generation.services.text_provider_get", lambda name=None: provider
        )
        return provider

    return use


# A local model server


@dataclass
class Reply:
    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


def chat_reply(content: str, *, prompt_tokens: int = 120, completion_tokens: int = 80):
    return Reply(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def png_base64(colour=(200, 80, 40)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def image_reply(*, revised_prompt: str = "A calm abstract illustration of sleep."):
    return Reply(
        body={
            "created": 0,
            "data": [{"b64_json": png_base64(), "revised_prompt": revised_prompt}],
        }
    )


class ModelServer:
    """A real HTTP server on 127.0.0.1: each POST takes the next scripted reply
    for its path (the last one repeats) and is recorded with its JSON body."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?")[0]
                server.requests.append((path, body))
                queue = server.replies.get(path) or [Reply(404, {"error": "no"})]
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
                if reply.delay:
                    time.sleep(reply.delay)
                payload = (
                    reply.body
                    if isinstance(reply.body, (bytes, str))
                    else json.dumps(reply.body)
                )
                if isinstance(payload, str):
                    payload = payload.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def script(self, path: str, *replies: Reply) -> None:
        self.replies[f"/v1{path}"] = list(replies)

    def calls(self, path: str) -> list[dict]:
        return [body for called, body in self.requests if called == f"/v1{path}"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def model_server():
    server = ModelServer()
    yield server
    server.close()

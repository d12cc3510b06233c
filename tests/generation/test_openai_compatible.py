"""The OpenAI-compatible providers against a real HTTP server on 127.0.0.1."""

import json
import time

import pytest

from generation.providers.base import ImageRequest, Prompt, ProviderError, WriteRequest
from generation.providers.openai_compatible import (
    OpenAICompatibleImageProvider,
    OpenAICompatibleTextProvider,
)
from tests.generation.conftest import Reply, chat_reply, image_reply

GOOD_ANSWER = {
    "title": "Why naps help",
    "standfirst": "A short sleep can sharpen the mind.",
    "sections": [
        {
            "heading": "The science",
            "html": '<p>Naps help, <a href="/health/naps/">we reported</a>.</p>',
            "sources": [7],
        }
    ],
}


def _request() -> WriteRequest:
    return WriteRequest(
        topic="Naps",
        angle="",
        keywords=(),
        tone="clear",
        target_words=400,
        sources=(),
        prompt=Prompt(system="You write articles.", user="Write about naps."),
    )


def _text_provider(server, **options) -> OpenAICompatibleTextProvider:
    values = {
        "model": "test-model",
        "base_url": server.base_url,
        "api_key": "test-key",
        "timeout": 2.0,
        "max_retries": 2,
        "backoff": 0.01,
    }
    return OpenAICompatibleTextProvider(**{**values, **options})


def test_success_parses_the_json_draft_and_records_tokens(model_server):
    # given
    model_server.script("/chat/completions", chat_reply(json.dumps(GOOD_ANSWER)))
    # when
    draft = _text_provider(model_server).write(_request())
    # then
    assert draft.title == "Why naps help"
    assert draft.sections[0].sources == (7,)
    assert (draft.usage.tokens_in, draft.usage.tokens_out) == (120, 80)
    (sent,) = model_server.calls("/chat/completions")
    assert sent["model"] == "test-model"
    assert sent["response_format"] == {"type": "json_object"}
    assert [message["role"] for message in sent["messages"]] == ["system", "user"]
    assert sent["messages"][1]["content"] == "Write about naps."


def test_malformed_json_is_retried_then_fails_with_every_token_counted(model_server):
    # given: the model never answers with usable JSON
    model_server.script("/chat/completions", chat_reply("Sure! Here is an article: {"))
    # when
    with pytest.raises(ProviderError) as raised:
        _text_provider(model_server, max_retries=2).write(_request())
    # then: 1 try + 2 retries, all paid for
    assert len(model_server.calls("/chat/completions")) == 3
    assert raised.value.retryable is True
    assert "after 3 attempts" in str(raised.value)
    assert "unusable" in str(raised.value)
    assert raised.value.usage.tokens_in == 3 * 120


def test_json_of_the_wrong_shape_counts_as_malformed(model_server):
    # given: JSON, but a section cites a page by title instead of id
    wrong = {
        **GOOD_ANSWER,
        "sections": [{**GOOD_ANSWER["sections"][0], "sources": ["x"]}],
    }
    model_server.script(
        "/chat/completions",
        chat_reply(json.dumps(wrong)),
        chat_reply(json.dumps(GOOD_ANSWER)),
    )
    # when
    draft = _text_provider(model_server).write(_request())
    # then
    assert len(model_server.calls("/chat/completions")) == 2
    assert draft.title == "Why naps help"


def test_rate_limited_then_success(model_server):
    # given
    model_server.script(
        "/chat/completions",
        Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}),
        chat_reply(json.dumps(GOOD_ANSWER)),
    )
    # when
    draft = _text_provider(model_server).write(_request())
    # then
    assert len(model_server.calls("/chat/completions")) == 2
    assert draft.standfirst == "A short sleep can sharpen the mind."


def test_server_error_retries_but_a_client_error_fails_at_once(model_server):
    # given
    model_server.script(
        "/chat/completions",
        Reply(503, {"error": {"message": "busy"}}),
        Reply(401, {"error": {"message": "bad key"}}),
    )
    # when
    with pytest.raises(ProviderError) as raised:
        _text_provider(model_server).write(_request())
    # then: the 503 was retried, the 401 was not
    assert len(model_server.calls("/chat/completions")) == 2
    assert raised.value.retryable is False
    assert "HTTP 401" in str(raised.value)


def test_timeout_is_retried_then_fails(model_server):
    # given: the server takes longer than the client waits
    model_server.script("/chat/completions", Reply(delay=1.0, body={}))
    provider = _text_provider(model_server, timeout=0.2, max_retries=1)
    # when
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        provider.write(_request())
    elapsed = time.monotonic() - started
    # then
    assert len(model_server.calls("/chat/completions")) == 2
    assert "did not answer in time" in str(raised.value)
    assert raised.value.retryable is True
    assert elapsed < 1.5


def test_image_provider_decodes_the_picture_and_describes_it(model_server):
    # given
    model_server.script("/images/generations", image_reply())
    provider = OpenAICompatibleImageProvider(
        model="image-model",
        base_url=model_server.base_url,
        api_key="k",
        size="1024x1024",
        max_retries=1,
        backoff=0.01,
    )
    request = ImageRequest(
        title="Why naps help",
        topic="Sleep",
        label="Health",
        prompt=Prompt(system="", user="An illustration about naps."),
    )
    # when
    image = provider.render(request)
    # then
    assert image.data.startswith(b"\x89PNG")
    assert image.filename == "ai-cover-why-naps-help.png"
    assert image.alt_text == "A calm abstract illustration of sleep."
    assert image.usage.images == 1
    (sent,) = model_server.calls("/images/generations")
    assert sent["response_format"] == "b64_json"
    assert sent["prompt"] == "An illustration about naps."


def test_image_that_is_not_a_picture_is_retried(model_server):
    # given
    model_server.script(
        "/images/generations",
        Reply(body={"created": 0, "data": [{"b64_json": "bm90IGFuIGltYWdl"}]}),
        image_reply(revised_prompt=""),
    )
    provider = OpenAICompatibleImageProvider(
        model="gpt-image-1",
        base_url=model_server.base_url,
        max_retries=1,
        backoff=0.01,
    )
    request = ImageRequest(
        title="Naps", topic="Sleep", label="", prompt=Prompt(system="", user="x")
    )
    # when
    image = provider.render(request)
    # then: gpt-image models are not sent response_format
    calls = model_server.calls("/images/generations")
    assert len(calls) == 2
    assert "response_format" not in calls[0]
    assert image.alt_text == "Illustration for the article “Naps”."


def test_seo_fields_of_the_answer_are_read_and_optional(model_server):
    # given: one answer with search fields, one with a wrong type
    with_seo = {
        **GOOD_ANSWER,
        "seo_title": "Naps that help",
        "search_description": "Ten to twenty minutes is enough.",
    }
    wrong = {**GOOD_ANSWER, "seo_title": 42}
    model_server.script(
        "/chat/completions",
        chat_reply(json.dumps(with_seo)),
        chat_reply(json.dumps(wrong)),
    )
    provider = _text_provider(model_server)
    # when
    first, second = provider.write(_request()), provider.write(_request())
    # then
    assert (first.seo_title, first.search_description) == (
        "Naps that help",
        "Ten to twenty minutes is enough.",
    )
    assert (second.seo_title, second.search_description) == ("", "")

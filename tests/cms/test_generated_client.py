"""A client generated from /api/schema/ by openapi-python-client, used for real.

If the schema lies about a path, a parameter, a body or an answer, the generated
code sends the wrong request or fails to parse the response, and this test fails.
"""

import importlib
import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from recommend.models import Event
from recommend.serving.state import serving_state_reset
from tests.recommend.scenario import world_build

PACKAGE = "engine_client"


@pytest.fixture
def world(transactional_db, settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    world = world_build(n_readers=20, n_events=600)
    serving_state_reset()
    return world


@pytest.fixture
def generated(live_server, tmp_path):
    """The package openapi-python-client generates from the live server's schema."""
    with urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json") as r:
        (tmp_path / "schema.json").write_bytes(r.read())
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    sys.path.insert(0, str(tmp_path))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[module]


def test_a_generated_client_mints_a_token_posts_events_and_reads_the_feed(
    world, live_server, generated, make_api_key
):
    # given: the server's client (an API key) and the generated modules
    client_module = generated("client")
    models = generated("models")
    reader_tokens_create = generated("api.reader_tokens.reader_tokens_create")
    events_create = generated("api.events.events_create")
    feed_retrieve = generated("api.feed.feed_retrieve")
    _, key = make_api_key("readers:issue", name="generated client")
    server = client_module.AuthenticatedClient(
        base_url=live_server.url, token=key, prefix="Api-Key"
    )
    # when: the server mints a token; the "browser" uses it
    minted = reader_tokens_create.sync(
        client=server, body=models.ReaderTokenRequestRequest(reader="sim-1")
    )
    browser = client_module.AuthenticatedClient(
        base_url=live_server.url, token=minted.token, prefix="Reader"
    )
    page = world.articles[0].pk
    event_id = f"generated-{uuid.uuid4()}"
    result = events_create.sync(
        client=browser,
        body=models.EventBatchRequest(
            events=[
                models.EventInputRequest(
                    event_id=event_id, page=page, type_=models.TypeEnum("read")
                )
            ]
        ),
    )
    feed = feed_retrieve.sync(client=browser, n=5)
    other = feed_retrieve.sync_detailed(client=browser, reader="sim-2")
    # then: typed models all the way, and the documented error for another reader
    assert isinstance(minted, models.ReaderToken)
    assert minted.reader == "sim-1"
    assert isinstance(result, models.EventBatchResult)
    assert result.accepted == 1
    assert Event.objects.get(event_id=event_id).reader.external_id == "sim-1"
    assert isinstance(feed, models.Feed)
    assert feed.reader == "sim-1"
    assert len(feed.results) == 5 and feed.count >= 5
    assert all(isinstance(item, models.FeedItem) for item in feed.results)
    assert all(item.reading_time >= 1 for item in feed.results)
    assert other.status_code == 403
    assert isinstance(other.parsed, models.Error)
    assert other.parsed.error.code == "other_reader"


def test_generated_client_parses_v2_content_and_typed_errors(
    world, live_server, generated
):
    # given
    client_module = generated("client")
    models = generated("models")
    pages_list = generated("api.content_pages.v2_pages_list")
    pages_retrieve = generated("api.content_pages.v2_pages_retrieve")
    feed_retrieve = generated("api.feed.feed_retrieve")
    anonymous = client_module.Client(base_url=live_server.url)
    bad_token = client_module.AuthenticatedClient(
        base_url=live_server.url, token="forged", prefix="Reader"
    )
    # when
    listing = pages_list.sync(client=anonymous, type_="cms.ArticlePage", limit=3)
    detail = pages_retrieve.sync(client=anonymous, id=world.articles[0].pk)
    missing = pages_retrieve.sync_detailed(client=anonymous, id=999_999)
    refused = feed_retrieve.sync_detailed(client=bad_token)
    # then
    assert listing.meta.total_count == len(world.articles)
    assert len(listing.items) == 3
    assert isinstance(detail, models.ContentPage)
    assert detail.title == world.articles[0].title
    assert detail.meta.html_url.startswith(live_server.url)
    assert isinstance(missing.parsed, models.Error)
    assert missing.status_code == 404
    assert refused.status_code == 401
    assert refused.parsed.error.code == "invalid_reader_token"
    assert json.loads(refused.content)["error"]["message"]

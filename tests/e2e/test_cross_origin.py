"""A front-end on another origin, in Chromium: CORS preflight and reader tokens."""

import http.server
import json
import threading
import urllib.request

import pytest

from cms.models import ArticlePage
from cms.reader_tokens import reader_token_issue
from cms.services import cover_image_create, live_content_touch
from recommend.serving.state import serving_state_reset
from tests.recommend.scenario import world_build

FRONT_END_PAGE = """<!doctype html><title>front-end</title><script>
window.results = (async function () {
  const config = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  const headers = {"Authorization": "Reader " + config.token};
  async function call(path, options) {
    try {
      const response = await fetch(config.api + path, options);
      return {status: response.status, body: await response.json()};
    } catch (error) {
      return {status: 0, error: String(error)};
    }
  }
  function load(url) {
    // As a card's <img> would: no CORS needed, only a 200 and an image.
    return new Promise((resolve) => {
      const image = new Image();
      image.onload = () => resolve({url, width: image.naturalWidth});
      image.onerror = () => resolve({url, width: 0});
      image.src = url;
    });
  }
  const own = await call("/api/v1/feed?n=5", {headers});
  const images = await Promise.all(
    ((own.body && own.body.results) || [])
      .filter((item) => item.hero_image_renditions)
      .map((item) => load(Object.values(item.hero_image_renditions)[0].url))
  );
  return {
    own,
    images,
    other: await call("/api/v1/feed?n=5&reader=sim-2", {headers}),
    event: await call("/api/v1/events", {
      method: "POST",
      headers: {...headers, "Content-Type": "application/json"},
      body: JSON.stringify({events: [
        {event_id: "cross-1", page: config.page, type: "view"},
      ]}),
    }),
  };
})();
</script>"""


@pytest.fixture
def front_end_origin():
    """A page server on 127.0.0.1 (the API's live server is on localhost)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = FRONT_END_PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def world(transactional_db, settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    world = world_build(n_readers=20, n_events=600)
    # every article with a cover, so every card has an image to draw
    for article in world.articles:
        ArticlePage.objects.filter(pk=article.pk).update(
            hero_image=cover_image_create(title=article.title)
        )
    live_content_touch()
    serving_state_reset()
    return world


def test_a_front_end_on_another_origin_reads_its_readers_feed_only(
    world, live_server, browser_page, front_end_origin, settings
):
    # given: the API allows the front-end's origin; its server minted a token for
    # sim-1 bound to that origin
    settings.CORS_ALLOWED_ORIGINS = [front_end_origin]
    api = live_server.url.replace("127.0.0.1", "localhost")
    token = reader_token_issue(reader="sim-1", origin=front_end_origin).token
    config = {"api": api, "token": token, "page": world.articles[0].pk}
    # when: the page on the other origin calls the API with the token (an
    # Authorization header: Chromium sends a preflight first)
    browser_page.goto(f"{front_end_origin}/#{json.dumps(config)}")
    results = browser_page.evaluate("window.results")
    # then: its own feed came back, another reader's is a 403 it can read
    assert results["own"]["status"] == 200, results["own"]
    assert results["own"]["body"]["reader"] == "sim-1"
    assert len(results["own"]["body"]["results"]) == 5
    assert all(item["standfirst"] for item in results["own"]["body"]["results"])
    # and: each card's image URL is absolute, on the API's host, and loads
    assert len(results["images"]) == 5, results["images"]
    for image in results["images"]:
        assert image["url"].startswith(f"{api}/"), image
        assert image["width"] > 0, image
    assert results["other"]["status"] == 403
    assert results["other"]["body"]["error"]["code"] == "other_reader"
    assert results["event"]["status"] == 200
    assert results["event"]["body"]["accepted"] == 1
    # and: once the origin is no longer allowed, the browser refuses the calls
    settings.CORS_ALLOWED_ORIGINS = []
    browser_page.goto("about:blank")
    browser_page.goto(f"{front_end_origin}/#{json.dumps(config)}")
    refused = browser_page.evaluate("window.results")
    assert refused["own"]["status"] == 0
    assert "Failed to fetch" in refused["own"]["error"]


def test_preflight_answers_without_credentials_for_allowed_origins_only(
    live_server, settings
):
    # given
    settings.CORS_ALLOWED_ORIGINS = ["http://127.0.0.1:5173"]

    def preflight(origin: str):
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/feed",
            method="OPTIONS",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers

    # when
    allowed_status, allowed = preflight("http://127.0.0.1:5173")
    _, refused = preflight("http://evil.example.net")
    # then
    assert allowed_status == 200
    assert allowed["Access-Control-Allow-Origin"] == "http://127.0.0.1:5173"
    assert "authorization" in allowed["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Origin" not in refused

"""Fixtures of the AI media tests: the Debian tools (or a skip), short articles,
and a narration made for real by espeak-ng and ffmpeg."""

import pytest
from django.core.management import call_command

from cms.models import ArticlePage
from generation.media.ffmpeg import tools_missing
from generation.media.models import MediaItem
from generation.media.services import media_item_run, media_request
from recommend.serving.state import serving_state_reset
from tests.factories import ArticlePageFactory, SectionPageFactory, TopicFactory

MISSING = tools_missing()
needs_media_tools = pytest.mark.skipif(
    bool(MISSING),
    reason=(
        f"{', '.join(MISSING)} not installed (make test installs them with apt-get "
        "when run as root)"
    ),
)


@pytest.fixture(autouse=True)
def _media_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.GENERATION_SPEECH_PROVIDER = "espeak"
    settings.GENERATION_CLIP_MAX_SECONDS = 8.0
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()


def short_article(**values) -> ArticlePage:
    """A small live article with a heading, a link, a quote and a picture caption."""
    defaults = {
        "title": "Why naps work",
        "standfirst": "A short sleep can sharpen the mind.",
        "body": [
            (
                "paragraph",
                '<p>Researchers found that <a href="https://example.org/s">a '
                "twenty minute nap</a> helps memory.</p>",
            ),
            ("heading", "When naps backfire"),
            ("paragraph", "<p>Long naps late in the day can spoil the night.</p>"),
            ("quote", {"text": "Keep it short.", "attribution": "Dr Lee"}),
        ],
    }
    return ArticlePageFactory(**{**defaults, **values})


@pytest.fixture
def section(db):
    return SectionPageFactory(title="Health", slug="health")


@pytest.fixture
def article(section):
    return short_article(section=section, topics=[TopicFactory(name="Sleep")])


def narration_make(page: ArticlePage) -> MediaItem:
    """A narration of the page, made here (the worker's code, run inline)."""
    item = media_request(page=page, kind=MediaItem.Kind.NARRATION, enqueue=False)
    media_item_run(item_id=item.pk, retry_inline=True)
    item.refresh_from_db()
    return item


@pytest.fixture
def narration(article) -> MediaItem:
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed")
    return narration_make(article)


def command_report(capsys, name: str, *args) -> dict:
    import json

    call_command(name, *args)
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

"""Content gaps: what an audience reads a lot of and has had little of lately."""

import datetime
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from django_q.models import Schedule

from generation.models import Brief
from recommend.audiences.gaps import content_gap_list, content_gap_refresh
from recommend.models import Audience, ContentGap
from recommend.training.schedules import (
    CONTENT_GAP_SCHEDULE_NAME,
    TRAINING_SCHEDULE_NAME,
    content_gap_schedule_ensure,
)
from tests.factories import ArticlePageFactory, SectionPageFactory, TopicFactory

pytestmark = pytest.mark.django_db

GAPS = "/admin/recommend/audiences/gaps/"
DRAFT_THIS = re.compile(r'href="([^"]*)"[^>]*data-testid="draft-this"')


@pytest.fixture
def gap_world():
    """Tides: read a lot, nothing recent. Moons: one recent article. Stars: five.
    Comets: read too little to count. Most tide articles are in Coast."""
    today = timezone.now().date()
    old = today - datetime.timedelta(days=200)
    coast = SectionPageFactory(title="Coast", slug="coast")
    sky = SectionPageFactory(title="Sky", slug="sky")
    topics = {
        name: TopicFactory(name=name.title(), slug=name)
        for name in ["tides", "moons", "stars", "comets"]
    }
    for section in [coast, coast, sky]:
        ArticlePageFactory(
            section=section, topics=[topics["tides"]], published_date=old
        )
    ArticlePageFactory(section=sky, topics=[topics["moons"]], published_date=today)
    ArticlePageFactory(section=sky, topics=[topics["moons"]], published_date=old)
    for _ in range(5):
        ArticlePageFactory(section=sky, topics=[topics["stars"]], published_date=today)

    def share(name: str, value: float) -> dict:
        topic = topics[name]
        return {"id": topic.pk, "slug": topic.slug, "name": topic.name, "share": value}

    audience = Audience.objects.create(
        key="shore-watchers",
        name="Shore watchers",
        kind=Audience.Kind.CLUSTER,
        size=40,
        top_topics=[
            share("tides", 0.5),
            share("moons", 0.3),
            share("stars", 0.15),
            share("comets", 0.05),
        ],
    )
    Audience.objects.create(
        key="retired",
        name="Retired",
        kind=Audience.Kind.CLUSTER,
        active=False,
        top_topics=[share("tides", 0.9)],
    )
    return audience, topics, coast


def test_a_much_read_topic_without_recent_articles_is_the_top_gap(gap_world):
    # given
    audience, topics, _ = gap_world
    # when
    stored = content_gap_refresh()
    again = content_gap_refresh()
    # then: tides 0.5 / (1 + 0), moons 0.3 / (1 + 1); stars has five recent
    # articles, comets too small a share; the retired audience has none
    gaps = [
        (gap.audience.key, gap.topic.slug, gap.engagement_share, gap.recent_articles)
        + (gap.score,)
        for gap in content_gap_list()
    ]
    assert gaps == [
        ("shore-watchers", "tides", 0.5, 0, 0.5),
        ("shore-watchers", "moons", 0.3, 1, 0.15),
    ]
    assert stored == again == ContentGap.objects.count() == 2


def test_the_supply_window_is_a_setting(gap_world, settings):
    # given: a window long enough to see the old tide articles
    settings.RECOMMEND_GAP_SUPPLY_DAYS = 365
    # when
    content_gap_refresh()
    # then: three tide articles are now recent supply: no longer a gap
    assert [gap.topic.slug for gap in content_gap_list()] == ["moons"]


def test_the_gap_schedule_is_created_once_and_leaves_training_alone(db):
    # given: migrate ensured both; a past race left a duplicate
    training = Schedule.objects.get(name=TRAINING_SCHEDULE_NAME)
    assert Schedule.objects.filter(name=CONTENT_GAP_SCHEDULE_NAME).count() == 1
    Schedule.objects.create(name=CONTENT_GAP_SCHEDULE_NAME, func="x.y")
    # when
    content_gap_schedule_ensure()
    schedule = content_gap_schedule_ensure()
    # then
    assert list(Schedule.objects.filter(name=CONTENT_GAP_SCHEDULE_NAME)) == [schedule]
    assert schedule.func == "recommend.tasks.content_gap_refresh_task"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.repeats == -1
    assert schedule.next_run > timezone.now()
    assert Schedule.objects.get(name=TRAINING_SCHEDULE_NAME) == training


def test_the_gap_page_lists_gaps_and_draft_this_fills_the_brief(
    gap_world, client, admin_user
):
    # given
    audience, topics, coast = gap_world
    content_gap_refresh()
    client.force_login(admin_user)
    # when
    page = client.get(GAPS)
    # then: the gaps, best first, each with a "Draft this" link
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index(">Tides<") < text.index(">Moons<")
    links = [html.unescape(link) for link in DRAFT_THIS.findall(text)]
    assert len(links) == 2
    query = parse_qs(urlsplit(links[0]).query)
    assert query == {
        "topic": ["Tides"],
        "topics": [str(topics["tides"].pk)],
        "audience_key": ["shore-watchers"],
        "section": [str(coast.pk)],  # two of the three tide articles
    }
    # when: the editor follows it
    form = client.get(links[0])
    # then: the Generate form is filled in for that audience, topic and section
    assert form.status_code == 200
    fields = form.context["form"]
    assert fields["topic"].value() == "Tides"
    assert fields["audience_key"].value() == "shore-watchers"
    assert str(fields["section"].value()) == str(coast.pk)
    assert [str(pk) for pk in fields["topics"].value()] == [str(topics["tides"].pk)]
    form_html = form.content.decode()
    assert 'value="Tides"' in form_html
    assert '<option value="shore-watchers" selected>' in form_html


def test_an_unknown_audience_is_a_form_error(gap_world, client, admin_user):
    # given
    _, _, coast = gap_world
    client.force_login(admin_user)
    # when
    response = client.post(
        "/admin/generation/",
        {
            "topic": "Tides",
            "target_words": "600",
            "section": coast.pk,
            "audience_key": "nobody",
        },
    )
    # then
    assert response.status_code == 200
    assert "No active audience “nobody”." in response.content.decode()
    assert not Brief.objects.exists()


def test_recompute_now_refreshes_the_table(gap_world, client, admin_user):
    # given
    client.force_login(admin_user)
    # when
    response = client.post(GAPS)
    # then
    assert response.status_code == 302
    assert ContentGap.objects.count() == 2

"""Performance figures equal what the recorded impressions and events imply."""

import datetime

import pytest
from django.utils import timezone

from cms.models import ArticlePage
from recommend.audiences.performance import (
    model_quality_history,
    page_performance,
    performance_aggregate_recent,
    performance_by_audience,
    performance_by_page,
    performance_by_topic,
    performance_day_aggregate,
    performance_report,
    performance_since,
)
from recommend.models import (
    Audience,
    AudienceDailyPerformance,
    Event,
    FeedImpression,
    ModelVersion,
    PageDailyPerformance,
    PerformanceDay,
    Reader,
    ReaderAudience,
)
from tests.factories import ArticlePageFactory, SectionPageFactory, TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded():
    """Three articles, three readers in two audiences, hand-written traffic.

    A (AI, topic T) and B (human, T) and C (human, U). In the 30-day window:
      f1 r1 [A, B]   f2 r2 [A, C]   f3 r3 [B, C]   f4 r1 [A] 40 days ago
    Events: r1 views A from f1 twice (one click), reads and likes A, views A
    from f4 (impression outside the window: no click); r2 views A from f3 (f3
    does not list A: no click) and without a feed id, reads A; r3 views B from
    f3 (click) and reads B; an old read of A 40 days ago.
    """
    section = SectionPageFactory()
    t, u = TopicFactory(name="Tides"), TopicFactory(name="Uplands")
    a = ArticlePageFactory(section=section, title="A", topics=[t])
    ArticlePage.objects.filter(pk=a.pk).update(
        ai_generated=True, ai_provenance={"audience": "tide-readers"}
    )
    a.refresh_from_db()
    b = ArticlePageFactory(section=section, title="B", topics=[t])
    c = ArticlePageFactory(section=section, title="C", topics=[u])
    r1, r2, r3 = (Reader.objects.create(external_id=f"r{i}") for i in (1, 2, 3))
    tides = Audience.objects.create(
        key="tide-readers", name="Tide readers", kind="cluster", size=2
    )
    hills = Audience.objects.create(
        key="hill-walkers", name="Hill walkers", kind="rule", size=1
    )
    ReaderAudience.objects.bulk_create(
        [
            ReaderAudience(reader=r1, audience=tides),
            ReaderAudience(reader=r2, audience=tides),
            ReaderAudience(reader=r3, audience=hills),
        ]
    )
    now = timezone.now()
    old = now - datetime.timedelta(days=40)
    for feed_id, reader, pages, served in (
        ("f1", r1, [a, b], now),
        ("f2", r2, [a, c], now),
        ("f3", r3, [b, c], now),
        ("f4", r1, [a], old),
    ):
        FeedImpression.objects.create(
            feed_id=feed_id,
            reader=reader,
            reader_external_id=reader.external_id,
            page_ids=[page.pk for page in pages],
            served_at=served,
        )
    events = [
        (r1, a, "view", "f1", now),
        (r1, a, "view", "f1", now),
        (r1, a, "read", "f1", now),
        (r1, a, "like", "", now),
        (r1, a, "view", "f4", now),
        (r2, a, "view", "f3", now),
        (r2, a, "view", "", now),
        (r2, a, "read", "", now),
        (r3, b, "view", "f3", now),
        (r3, b, "read", "f3", now),
        (r3, a, "read", "", old),
    ]
    Event.objects.bulk_create(
        [
            Event(
                reader=reader,
                page=page,
                type=kind,
                feed_id=feed_id,
                context={"feed_id": feed_id} if feed_id else {},
                occurred_at=moment,
                event_id=f"e{index}",
            )
            for index, (reader, page, kind, feed_id, moment) in enumerate(events)
        ]
    )
    return {"a": a, "b": b, "c": c, "tides": tides, "hills": hills}


def test_page_figures_match_the_hand_count(recorded):
    # when
    performance = page_performance(page=recorded["a"], days=30)
    # then
    figures = performance.figures
    assert (figures.impressions, figures.clicks, figures.reads, figures.likes) == (
        2,
        1,
        2,
        1,
    )
    assert figures.ctr == 0.5
    [tides] = performance.audiences  # hill walkers had no impression of A
    assert tides.audience == recorded["tides"]
    assert (tides.impressions, tides.clicks, tides.reads, tides.likes) == (2, 1, 2, 1)
    comparison = performance.comparison
    assert comparison.topics == ["Tides"]
    assert comparison.articles == 1  # B, the human article in the same topic
    assert (comparison.figures.impressions, comparison.figures.clicks) == (2, 1)
    assert comparison.reads_per_article == 1.0


def test_all_pages_audiences_and_topics_at_once(recorded):
    since = performance_since(days=30)
    table = performance_by_page(since=since)
    a, b, c = (recorded[name].pk for name in "abc")
    assert (table[a].impressions, table[a].clicks, table[a].reads) == (2, 1, 2)
    assert (table[b].impressions, table[b].clicks, table[b].reads) == (2, 1, 1)
    assert (table[c].impressions, table[c].clicks, table[c].reads) == (2, 0, 0)
    audiences = {row.audience.key: row for row in performance_by_audience(since=since)}
    # every listed slot counts: f1 and f2 list two articles each
    assert audiences["tide-readers"].impressions == 4
    assert audiences["tide-readers"].clicks == 1
    assert audiences["tide-readers"].ctr == 0.25
    assert (audiences["hill-walkers"].impressions, audiences["hill-walkers"].reads) == (
        2,
        1,
    )
    [tides] = performance_by_topic(since=since)
    assert (tides.topic, tides.ai_articles, tides.human_articles) == ("Tides", 1, 1)
    assert (tides.ai.ctr, tides.human.ctr) == (0.5, 0.5)
    assert (tides.ai_reads_per_article, tides.human_reads_per_article) == (2.0, 1.0)


def test_performance_api(keyed_client, api_client, recorded):
    # given
    client = keyed_client("feed:read")
    draft = ArticlePageFactory(title="Draft", publish=False)
    # when
    response = client.get(f"/api/v1/pages/{recorded['a'].pk}/performance")
    # then
    body = response.json()
    assert response.status_code == 200
    assert body["page"] == {
        "id": recorded["a"].pk,
        "title": "A",
        "ai_generated": True,
        "audience": "tide-readers",
    }
    assert {key: body[key] for key in ("impressions", "clicks", "reads", "likes")} == {
        "impressions": 2,
        "clicks": 1,
        "reads": 2,
        "likes": 1,
    }
    assert body["ctr"] == 0.5
    assert body["audiences"] == [
        {
            "audience": {
                "id": recorded["tides"].pk,
                "key": "tide-readers",
                "name": "Tide readers",
            },
            "impressions": 2,
            "clicks": 1,
            "reads": 2,
            "likes": 1,
            "ctr": 0.5,
        }
    ]
    assert body["comparison"]["human_articles"] == 1
    human = client.get(f"/api/v1/pages/{recorded['b'].pk}/performance").json()
    assert human["comparison"] is None
    assert human["page"]["audience"] is None
    missing = client.get(f"/api/v1/pages/{draft.pk}/performance")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = client.get(f"/api/v1/pages/{recorded['a'].pk}/performance?days=0")
    assert bad.status_code == 400
    assert "days" in bad.json()["error"]["details"]
    assert (
        api_client.get(f"/api/v1/pages/{recorded['a'].pk}/performance").status_code
        == 401
    )


def test_model_quality_history_lists_promoted_versions_in_order():
    now = timezone.now()
    for offset, ndcg, promoted in ((2, 0.31, True), (1, 0.29, False), (0, 0.35, True)):
        ModelVersion.objects.create(
            algorithm="als",
            status="retired",
            metrics={"candidate": {"ndcg": ndcg}, "popular": {"ndcg": 0.2}},
            promoted_at=now - datetime.timedelta(days=offset) if promoted else None,
        )
    history = model_quality_history()
    assert [row.ndcg for row in history] == [0.31, 0.35]
    assert history[0].popular_ndcg == 0.2


def test_admin_report_renders_figures_and_svg_charts(
    client, recorded, django_user_model
):
    # given
    ModelVersion.objects.create(
        algorithm="als",
        status="active",
        metrics={"candidate": {"ndcg": 0.42}, "popular": {"ndcg": 0.2}},
        promoted_at=timezone.now(),
    )
    admin = django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
    client.force_login(admin)
    # when
    response = client.get("/admin/recommend/performance/?days=30")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="performance-articles"' in html
    for chart in ("audience-chart", "topic-chart", "model-chart"):
        inline = html.split(f'data-testid="{chart}">')[1].split("</svg>")[0]
        assert inline.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "Tide readers" in html
    assert "0.4200" in html  # the model's nDCG@10, in the line chart's tooltip


def _figures(table, page_id):
    row = table[page_id]
    return (row.impressions, row.clicks, row.reads, row.likes)


def test_report_reads_daily_aggregates_not_the_raw_tables(recorded):
    # given: today's traffic aggregated
    since = performance_since(days=30)
    raw_table = performance_by_page(since=since)
    raw_audiences = {
        row.audience.key: (row.impressions, row.clicks, row.reads, row.likes)
        for row in performance_by_audience(since=since)
    }
    performance_day_aggregate(day=timezone.now().date())
    # when: the raw rows it summarised are gone
    FeedImpression.objects.filter(served_at__gte=since).delete()
    Event.objects.filter(occurred_at__gte=since).delete()
    # then: the report still shows the same figures, from the aggregates
    table = performance_by_page(since=since)
    for name in "abc":
        page_id = recorded[name].pk
        assert _figures(table, page_id) == _figures(raw_table, page_id)
    audiences = {
        row.audience.key: (row.impressions, row.clicks, row.reads, row.likes)
        for row in performance_by_audience(since=since)
    }
    assert audiences == raw_audiences
    assert audiences["tide-readers"] == (4, 1, 2, 1)


def test_events_after_the_aggregation_are_added_from_the_raw_tables(recorded):
    # given: aggregated, then a new impression and read of C
    since = performance_since(days=30)
    performance_day_aggregate(day=timezone.now().date())
    c, r3 = recorded["c"], Reader.objects.get(external_id="r3")
    later = timezone.now() + datetime.timedelta(seconds=1)
    FeedImpression.objects.create(
        feed_id="f9",
        reader=r3,
        reader_external_id="r3",
        page_ids=[c.pk],
        served_at=later,
    )
    Event.objects.create(
        reader=r3,
        page=c,
        type="view",
        feed_id="f9",
        context={"feed_id": "f9"},
        occurred_at=later,
        event_id="late-view",
    )
    # when
    import time

    time.sleep(1.1)
    table = performance_by_page(since=since)
    # then: C's figures are the aggregate plus the new impression and click
    assert _figures(table, c.pk) == (3, 1, 0, 0)


def test_aggregating_a_day_twice_gives_the_same_rows(recorded):
    day = timezone.now().date()
    # when
    performance_day_aggregate(day=day)
    first = sorted(
        PageDailyPerformance.objects.filter(day=day).values_list(
            "page_id", "impressions", "clicks", "reads", "likes"
        )
    )
    performance_day_aggregate(day=day)
    # then
    second = sorted(
        PageDailyPerformance.objects.filter(day=day).values_list(
            "page_id", "impressions", "clicks", "reads", "likes"
        )
    )
    assert first == second
    assert len(first) == 3
    assert AudienceDailyPerformance.objects.filter(day=day).count() == 2
    assert PerformanceDay.objects.filter(day=day).count() == 1


def test_scheduled_aggregation_fills_the_window_then_refreshes_recent_days(recorded):
    # when
    first = performance_aggregate_recent(days=45)
    second = performance_aggregate_recent(days=45)
    # then: every day once, then only today and yesterday again
    assert first == 45
    assert second == 2
    assert PerformanceDay.objects.count() == 45
    old_day = (timezone.now() - datetime.timedelta(days=40)).date()
    old = PageDailyPerformance.objects.get(day=old_day, page_id=recorded["a"].pk)
    assert (old.impressions, old.reads) == (1, 1)


def test_performance_schedule_is_created_once():
    from django_q.models import Schedule

    from recommend.training.schedules import performance_schedule_ensure

    # when
    performance_schedule_ensure()
    performance_schedule_ensure()
    # then
    [schedule] = Schedule.objects.filter(name="recommend-performance-aggregates")
    assert schedule.func == "recommend.tasks.performance_aggregate_task"


def _report_figures(report):
    def four(row):
        return (row.impressions, row.clicks, row.reads, row.likes)

    return (
        [(page.pk, four(figures)) for page, figures in report.pages],
        sorted((row.audience.key, four(row)) for row in report.audiences),
        [
            (
                row.topic,
                row.ai_articles,
                row.human_articles,
                four(row.ai),
                four(row.human),
            )
            for row in report.topics
        ],
    )


def test_report_is_the_same_from_aggregates_as_from_raw_rows(recorded):
    # given: the report computed from the raw tables (nothing aggregated yet)
    before = _report_figures(performance_report(days=30))
    # when: every day is aggregated
    performance_aggregate_recent(days=45)
    after = _report_figures(performance_report(days=30))
    # then
    assert after == before
    pages, audiences, topics = after
    assert pages[0] == (recorded["a"].pk, (2, 1, 2, 1))
    assert topics == [("Tides", 1, 1, (2, 1, 2, 1), (2, 1, 1, 0))]


def test_report_windows_read_ready_totals_after_the_job(recorded):
    # given: the job ran (every day aggregated, the 7/30/90-day totals summed)
    before = _report_figures(performance_report(days=30))
    performance_aggregate_recent(days=100)
    # when: the daily rows are gone, only the window totals remain
    PageDailyPerformance.objects.all().delete()
    FeedImpression.objects.all().delete()
    # then: the 30-day report is unchanged, from the window totals
    pages, _, topics = _report_figures(performance_report(days=30))
    assert (pages, topics) == (before[0], before[2])
    # and the 90-day window also has the read 40 days ago
    [top_90, *_] = performance_report(days=90).pages
    assert top_90[0] == recorded["a"]
    assert top_90[1].reads == 3


def test_aggregate_performance_command_writes_the_window(recorded):
    from io import StringIO

    from django.core.management import CommandError, call_command

    # when
    out = StringIO()
    call_command("aggregate_performance", "--days", "3", "--no-progress", stdout=out)
    # then
    assert out.getvalue().strip() == "aggregated 3 day(s)"
    assert PerformanceDay.objects.count() == 3
    with pytest.raises(CommandError, match="--days"):
        call_command("aggregate_performance", "--days", "0")


@pytest.mark.parametrize("ready_totals", [False, True])
def test_a_tail_that_lifts_an_article_into_the_top_is_ranked_exactly(ready_totals):
    # given: articles P1..P12 shown 1..12 times (P0 never), aggregated (as daily
    # rows or as the window's ready totals); then, after the aggregation, P9, P7
    # and P0 are shown twice more: P9 (11) ties P11, P7 (9) and P0 (2) stay out
    import time

    section = SectionPageFactory()
    reader = Reader.objects.create(external_id="tail-reader")
    pages = [ArticlePageFactory(section=section, title=f"P{n}") for n in range(13)]
    now = timezone.now()

    def show(page, times, at, prefix):
        FeedImpression.objects.bulk_create(
            FeedImpression(
                feed_id=f"{prefix}-{page.pk}-{index}",
                reader=reader,
                reader_external_id=reader.external_id,
                page_ids=[page.pk],
                served_at=at,
            )
            for index in range(times)
        )

    for count, page in enumerate(pages):
        show(page, count, now, "old")
    if ready_totals:
        performance_aggregate_recent(days=35)
    else:
        performance_day_aggregate(day=now.date())
    later = timezone.now() + datetime.timedelta(seconds=1)
    for page in (pages[9], pages[7], pages[0]):
        show(page, 2, later, "new")
    time.sleep(1.1)
    # when
    report = performance_report(days=30, top=3)
    # then: the top three of every article's figures ranked by hand
    table = performance_by_page(since=performance_since(days=30))
    by_hand = sorted(table, key=lambda pk: (-table[pk].impressions, pk))[:3]
    assert [page.pk for page, _ in report.pages] == by_hand
    assert by_hand == [pages[12].pk, pages[9].pk, pages[11].pk]
    assert [figures.impressions for _, figures in report.pages] == [12, 11, 11]

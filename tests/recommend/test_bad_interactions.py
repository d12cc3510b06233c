"""Bad interaction data: refused by line at import, harmless if already stored."""

import datetime
import io
import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cms.models import ArticlePage
from recommend.models import Event, ModelVersion, Reader
from recommend.serving.trending import trending_reset
from recommend.training.service import model_version_train
from tests.factories import ArticlePageFactory, SectionPageFactory
from tests.recommend.scenario import world_build

NOW = int(timezone.now().timestamp())


def _import(path) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command(
            "import_interactions",
            str(path),
            "--no-progress",
            stdout=stdout,
            stderr=stderr,
        )
    except CommandError:
        pass
    return stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def items(db) -> list[ArticlePage]:
    section = SectionPageFactory()
    return [
        ArticlePageFactory(section=section, external_id=external_id)
        for external_id in ("10", "20")
    ]


def test_each_class_of_bad_row_is_reported_by_line_and_good_rows_import(
    tmp_path, items
):
    # given one row of each class of bad input between good rows
    path = tmp_path / "ratings.csv"
    path.write_text(
        "u1,10,4,1000000000\n"  # 1 good
        "u2,10,4,4102444800\n"  # 2 year 2100
        "u3,10,4,-38000000000\n"  # 3 year -1\u2009..., before 1970
        "u4,10,4,1e15\n"  # 4 absurdly far ahead
        "u\x005,10,4,1000000000\n"  # 5 NUL in a user id
        "u6,1\x070,4,1000000000\n"  # 6 control character in an item id
        "u7,10,-3,1000000000\n"  # 7 negative value
        "u8,10,1e300,1000000000\n"  # 8 absurd value
        '"u9,10,4,1000000000\n'  # 9 quote never closed
        "u10,20,2,2001-09-09T01:46:40Z\n"  # 10 good
        '"u11,20,4,1000000000',  # 11 file cut inside a quote
        encoding="utf-8",
    )
    # when
    stdout, stderr = _import(path)
    # then
    lines = [int(line.split(":")[0].split()[1]) for line in stderr.splitlines()]
    assert lines == [2, 3, 4, 5, 6, 7, 8, 9, 11]
    assert "in the future" in stderr.splitlines()[0]
    assert "before 1970" in stderr.splitlines()[1]
    assert "NUL" in stderr.splitlines()[3]
    assert "control character" in stderr.splitlines()[4]
    assert "negative" in stderr.splitlines()[5]
    assert "unreadable quoting" in stderr.splitlines()[7]
    assert sorted(Event.objects.values_list("reader__external_id", flat=True)) == [
        "u1",
        "u10",
    ]
    assert stdout.startswith("Imported: 2 events created")


def test_the_future_window_is_configurable(tmp_path, items, settings):
    # given a day of allowed skew and an event 12 hours ahead
    settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS = 86_400
    path = tmp_path / "u.data"
    path.write_text(f"u1\t10\t4\t{NOW + 43_200}\nu2\t10\t4\t{NOW + 200_000}\n")
    # when
    _, stderr = _import(path)
    # then
    assert stderr.startswith("line 2: timestamp")
    assert list(Event.objects.values_list("reader__external_id", flat=True)) == ["u1"]


def _events_store_out_of_range(world) -> None:
    """Rows written before ingestion refused them: far future, far past, garbage."""
    reader = world.readers[0]
    page = world.articles[0]
    for index, moment in enumerate(
        [
            datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC),
            datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC),
            datetime.datetime(1, 1, 2, tzinfo=datetime.UTC),
        ]
    ):
        Event.objects.create(
            reader=reader,
            page=page,
            type="view",
            value=1.0,
            occurred_at=moment,
            event_id=f"bad-{index}",
        )
    if connection.vendor == "sqlite":
        # A time no date function can read, as a broken import once stored.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Event._meta.db_table} SET occurred_at = %s "
                "WHERE event_id = 'bad-2'",
                ["+33658-09-27 01:46:40"],
            )


def test_stored_out_of_range_times_do_not_break_trending_or_training(db, keyed_client):
    # given a trained world and events dated far outside any sane window
    world = world_build(n_readers=40, n_events=1500, per_topic=4)
    _events_store_out_of_range(world)
    trending_reset()
    client = keyed_client()
    # when
    feed = client.get("/api/v1/feed", {"reader": "nobody-knows-me"})
    digest = client.get("/api/v1/readers/nobody-knows-me/digest")
    version = model_version_train(force=True)
    # then
    assert feed.status_code == 200 and feed.json()["strategy"] == "trending"
    assert feed.json()["results"]
    assert digest.status_code == 200
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.data_window_start.year >= 1970


# Generated files: good rows and each class of bad row, at random lines.

_GOOD_USERS = st.text("abcdefgh0123456789", min_size=1, max_size=6)
_BAD_ROWS = [
    "{user},10,4,4102444800",  # future
    "{user},10,4,-1",  # before 1970
    "{user},10,-1,1000000000",  # negative value
    "{user},10,nan,1000000000",  # not a finite number
    "u\x00{user},10,4,1000000000",  # NUL
    "u\x1b{user},10,4,1000000000",  # control character
    "{user},99,4,1000000000",  # unknown item
    '"{user},10,4,1000000000',  # open quote
    "{user},10",  # too few fields
]
_counter = itertools.count()


@st.composite
def _files(draw) -> tuple[list[str], set[int], int]:
    """(lines, bad line numbers, good row count); line 1 is always good."""
    kinds = draw(
        st.lists(
            st.one_of(st.just(None), st.sampled_from(_BAD_ROWS)),
            min_size=1,
            max_size=25,
        )
    )
    lines, bad, good = [], set(), 0
    for number, kind in enumerate([None, *kinds], start=1):
        user = f"{draw(_GOOD_USERS)}-{number}"
        if kind is None:
            item = draw(st.sampled_from(["10", "20"]))
            stamp = draw(st.integers(min_value=0, max_value=NOW - 10))
            lines.append(f"{user},{item},{draw(st.integers(0, 5))},{stamp}")
            good += 1
        else:
            lines.append(kind.format(user=user))
            bad.add(number)
    return lines, bad, good


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(generated=_files())
def test_generated_interaction_files_import_good_rows_and_report_bad_lines(
    tmp_path, items, generated
):
    # given a file of good and bad rows, and the state before
    lines, bad, good = generated
    Event.objects.all().delete()
    Reader.objects.all().delete()
    pages_before = ArticlePage.objects.count()
    path = tmp_path / f"generated-{next(_counter)}.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    # when
    stdout, stderr = _import(path)
    # then: every bad row named by its line, every good row stored, nothing else
    reported = {int(line.split(":")[0].split()[1]) for line in stderr.splitlines()}
    assert reported == bad
    assert Event.objects.count() == good
    assert Reader.objects.count() == good
    assert ArticlePage.objects.count() == pages_before
    assert stdout.startswith(f"Imported: {good} events created")

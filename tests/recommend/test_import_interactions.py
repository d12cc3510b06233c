"""manage.py import_interactions: rating files to events, bad rows by line."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cms.models import ArticlePage, SectionPage
from cms.selectors import article_live_list
from recommend.events.files import interaction_file_parse
from recommend.events.interactions import IMPORTED_SECTION_SLUG
from recommend.models import Event, Reader
from tests.factories import ArticlePageFactory, SectionPageFactory


def _import(*args) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "import_interactions", *args, "--no-progress", stdout=stdout, stderr=stderr
    )
    return stdout.getvalue(), stderr.getvalue()


def _import_failing(*args) -> tuple[str, str, CommandError]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(
            "import_interactions",
            *args,
            "--no-progress",
            stdout=stdout,
            stderr=stderr,
        )
    return stdout.getvalue(), stderr.getvalue(), failure.value


@pytest.fixture
def movies(db) -> dict[str, ArticlePage]:
    section = SectionPageFactory()
    return {
        external_id: ArticlePageFactory(section=section, external_id=external_id)
        for external_id in ("10", "20", "30")
    }


def _events() -> list[tuple]:
    return list(
        Event.objects.order_by("reader__external_id", "page_id").values_list(
            "reader__external_id", "page__articlepage__external_id", "type", "value"
        )
    )


def test_tsv_without_header_imports_good_rows_and_reports_bad_ones_by_line(
    tmp_path, movies
):
    # given MovieLens u.data style rows (user, item, rating, timestamp), with a
    # broken value, an unknown item, a short row and a blank line
    path = tmp_path / "u.data"
    path.write_text(
        "1\t10\t5\t881250949\n"
        "1\t20\t3\t881250950\n"
        "2\t10\tfive\t881250951\n"
        "2\t99\t4\t881250952\n"
        "\n"
        "3\t30\n"
        "3\t30\t4\t881250953\n",
        encoding="utf-8",
    )

    # when
    stdout, stderr, error = _import_failing(str(path))

    # then
    assert stderr.splitlines() == [
        "line 3: value 'five' is not a finite number",
        "line 4: unknown item '99': no article has this external_id "
        "(--create-missing-items makes placeholders)",
        "line 6: expected 3 or 4 fields, got 2",
    ]
    assert str(error) == "3 of 6 rows rejected; see the lines above."
    assert stdout.startswith("Imported: 3 events created, 0 already present")
    # a rating of 4 or more is a like, anything lower a view; value = rating
    assert _events() == [
        ("1", "10", "like", 5.0),
        ("1", "20", "view", 3.0),
        ("3", "30", "like", 4.0),
    ]
    assert sorted(Reader.objects.values_list("external_id", flat=True)) == ["1", "3"]
    first = Event.objects.get(reader__external_id="1", page=movies["10"])
    assert first.occurred_at == datetime.datetime.fromtimestamp(
        881250949, tz=datetime.UTC
    )


def test_csv_with_header_and_a_fixed_type_imports_everything(tmp_path, movies):
    # given a ratings.csv style file with a header, ISO and Unix times, spaces
    path = tmp_path / "ratings.csv"
    path.write_text(
        "userId,movieId,rating,timestamp\n"
        "alice, 10, 1.5, 2024-05-01T10:00:00Z\n"
        "bob,20,4.0,964982703\n",
        encoding="utf-8",
    )

    # when
    stdout, stderr = _import(str(path), "--type", "read", "--value-as", "weight")

    # then
    assert stderr == ""
    assert stdout == (
        "Imported: 2 events created, 0 already present, 0 refused (erased "
        "readers), 0 rejected; 2 readers and 0 placeholder items created.\n"
    )
    assert _events() == [("alice", "10", "read", 1.5), ("bob", "20", "read", 4.0)]
    alice = Event.objects.get(reader__external_id="alice")
    assert alice.occurred_at == datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.UTC)


def test_reimporting_the_same_file_adds_nothing(tmp_path, movies):
    # given
    path = tmp_path / "u.data"
    path.write_text("1\t10\t5\t100\n1\t20\t2\t200\n2\t10\t4\t300\n")
    _import(str(path))

    # when
    stdout, _ = _import(str(path))

    # then
    assert stdout.startswith("Imported: 0 events created, 3 already present")
    assert Event.objects.count() == 3
    assert Reader.objects.count() == 2


def test_create_missing_items_makes_live_placeholders_once(tmp_path, movies):
    # given items 77 and 88 have no article
    path = tmp_path / "u.data"
    path.write_text("1\t77\t5\t100\n2\t88\t3\t200\n2\t77\t4\t300\n3\t10\t4\t400\n")

    # when
    stdout, _ = _import(str(path), "--create-missing-items")
    again, _ = _import(str(path), "--create-missing-items")

    # then
    placeholders = ArticlePage.objects.filter(external_id__in=["77", "88"])
    assert placeholders.count() == 2
    section = SectionPage.objects.get(slug=IMPORTED_SECTION_SLUG)
    assert all(page.get_parent().pk == section.pk for page in placeholders)
    assert set(placeholders) <= set(article_live_list())
    assert Event.objects.filter(page__in=placeholders).count() == 3
    assert "4 events created" in stdout and "2 placeholder items created" in stdout
    assert "0 events created, 4 already present" in again
    assert "0 placeholder items created" in again


def test_rows_of_an_erased_reader_are_refused_not_rejected(tmp_path, movies):
    # given
    Reader.objects.create(external_id="gone", erased=True)
    path = tmp_path / "u.data"
    path.write_text("gone\t10\t5\t100\nkept\t10\t5\t100\n")

    # when
    stdout, _ = _import(str(path))

    # then
    assert "1 events created" in stdout and "1 refused (erased readers)" in stdout
    assert _events() == [("kept", "10", "like", 5.0)]


@pytest.mark.django_db
def test_a_missing_file_fails_with_one_line(tmp_path):
    # when
    _, _, error = _import_failing(str(tmp_path / "absent.tsv"))

    # then
    assert str(error) == f"{tmp_path / 'absent.tsv'}: no such file"


def test_the_reader_sniffs_movielens_1m_colons_and_whitespace() -> None:
    # given
    colons = "1::1193::5::978300760\n1::661::3::978302109\n"
    spaces = "7  42  2.5\n8 43 4\n"

    # when
    from_colons = interaction_file_parse(text=colons)
    from_spaces = interaction_file_parse(text=spaces)

    # then
    assert from_colons.delimiter == "colons" and not from_colons.header
    assert from_colons.items.tolist() == ["1193", "661"]
    assert from_colons.timestamps.tolist() == [978300760.0, 978302109.0]
    assert from_spaces.delimiter == "whitespace"
    assert from_spaces.users.tolist() == ["7", "8"]
    assert from_spaces.values.tolist() == [2.5, 4.0]
    assert all(stamp != stamp for stamp in from_spaces.timestamps)  # NaN

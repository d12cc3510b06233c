"""manage.py import_content: rows upserted by external_id, bad ones reported by line."""

import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from cms.models import ArticlePage, Author, HomePage, SectionPage, Topic
from tests.factories import ArticlePageFactory, SectionPageFactory, page_reload


def _jsonl(path, *records) -> str:
    """Write records (dicts, or raw strings for broken lines) one per line."""
    lines = [
        record if isinstance(record, str) else json.dumps(record) for record in records
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _import(*args) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_content", *args, "--no-progress", stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def _import_failing(*args) -> tuple[str, str, CommandError]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(
            "import_content", *args, "--no-progress", stdout=stdout, stderr=stderr
        )
    return stdout.getvalue(), stderr.getvalue(), failure.value


def _record(external_id: str, **fields) -> dict:
    return {
        "external_id": external_id,
        "title": f"Article {external_id}",
        "body": f"Body of {external_id}.",
        "section": "news",
        **fields,
    }


def _paragraphs(article: ArticlePage) -> list[str]:
    return [
        block.value.source for block in article.body if block.block_type == "paragraph"
    ]


@pytest.mark.django_db
def test_jsonl_imports_good_rows_and_reports_each_bad_one_by_line(tmp_path):
    # given: line 3 is blank; it is skipped but still counted
    path = _jsonl(
        tmp_path / "articles.jsonl",
        _record("a-1", topics=["Science", "Space"], author="Ada Writer"),
        {"external_id": "a-2", "body": "No title.", "section": "news"},
        "",
        "{not json",
        _record("a-3", published="2025-03-04T22:30:00+00:00"),
        _record("a-1", title="Same id again"),
        '["a", "list"]',
    )
    # when
    stdout, stderr, error = _import_failing(path)
    # then
    assert stderr.splitlines() == [
        "line 2: missing required field 'title'",
        "line 4: invalid JSON: Expecting property name enclosed in double quotes "
        "(column 2)",
        "line 6: external_id 'a-1' repeats line 1",
        "line 7: a line must be a JSON object",
    ]
    assert stdout == "Imported: 2 created, 0 updated, 0 unchanged, 4 rejected.\n"
    assert str(error) == "4 of 6 rows rejected; see the lines above."
    assert error.returncode == 1
    articles = ArticlePage.objects.order_by("external_id")
    assert [(a.external_id, a.title, a.live) for a in articles] == [
        ("a-1", "Article a-1", True),
        ("a-3", "Article a-3", True),
    ]
    first = articles[0]
    assert sorted(topic.name for topic in first.topics.all()) == ["Science", "Space"]
    assert first.author.name == "Ada Writer"
    assert _paragraphs(first) == ["<p>Body of a-1.</p>"]
    assert articles[1].published_date == datetime.date(2025, 3, 4)
    # the unknown section was created under the home page
    section = SectionPage.objects.get(slug="news")
    assert section.get_parent().specific == HomePage.objects.get()
    assert first.get_parent().pk == section.pk


@pytest.mark.django_db
def test_csv_imports_rows_with_physical_line_numbers_and_split_topics(tmp_path):
    # given: the first record's quoted body spans lines 2-4, so the bad row is line 5
    path = tmp_path / "articles.csv"
    path.write_text(
        "external_id,title,body,section,topics,published,author,source,extra\n"
        'c-1,First,"Para one.\n\nPara two.",News,"Science; Arts, crafts",2025-01-02,'
        "Bo Writer,https://example.com/c-1,ignored\n"
        "c-2,Second,Text,News,x,not-a-date,,,\n"
        "c-3,Third,Text,news,Art|Craft,,,Wire Service,\n",
        encoding="utf-8",
    )
    # when
    stdout, stderr, _ = _import_failing(str(path))
    # then
    assert stderr == "line 5: published 'not-a-date' is not an ISO date or datetime\n"
    assert stdout == "Imported: 2 created, 0 updated, 0 unchanged, 1 rejected.\n"
    first = ArticlePage.objects.get(external_id="c-1")
    assert _paragraphs(first) == ["<p>Para one.</p>", "<p>Para two.</p>"]
    assert sorted(topic.name for topic in first.topics.all()) == [
        "Arts, crafts",
        "Science",
    ]
    assert first.published_date == datetime.date(2025, 1, 2)
    assert (first.source_url, first.attribution) == ("https://example.com/c-1", "")
    third = ArticlePage.objects.get(external_id="c-3")
    assert sorted(topic.name for topic in third.topics.all()) == ["Art", "Craft"]
    assert (third.source_url, third.attribution) == ("", "Wire Service")
    # "News" and "news" are the same section, found by title, then by slug
    assert SectionPage.objects.count() == 1
    assert third.get_parent().pk == first.get_parent().pk


@pytest.mark.django_db
def test_html_body_is_sanitised_before_it_is_stored(tmp_path):
    # given
    body = (
        '<p onclick="steal()">Safe <b>text</b><script>alert("x")</script></p>'
        '<style>body{}</style><a href="javascript:go()" onmouseover="x">link</a>'
    )
    path = _jsonl(tmp_path / "html.jsonl", _record("h-1", body=body))
    # when
    stdout, stderr = _import(path)
    # then
    article = ArticlePage.objects.get(external_id="h-1")
    assert _paragraphs(article) == ["<p>Safe <b>text</b></p>", "<p>link</p>"]
    assert stdout == "Imported: 1 created, 0 updated, 0 unchanged, 0 rejected.\n"
    assert stderr == ""


@pytest.mark.django_db
def test_html_headings_become_heading_blocks(tmp_path):
    # given
    body = "<h1>Big news</h1><p>First.</p><h2>Details</h2><p>Second.</p>"
    path = _jsonl(tmp_path / "headings.jsonl", _record("h-2", body=body))
    # when
    _import(path)
    # then
    article = ArticlePage.objects.get(external_id="h-2")
    assert [(block.block_type, str(block.value)) for block in article.body] == [
        ("heading", "Big news"),
        ("paragraph", "<p>First.</p>"),
        ("heading", "Details"),
        ("paragraph", "<p>Second.</p>"),
    ]


@pytest.mark.django_db
def test_reimport_is_idempotent_and_updates_by_external_id(tmp_path):
    # given: a first import of two articles
    path = tmp_path / "feed.jsonl"
    _jsonl(path, _record("r-1", topics=["Tech"]), _record("r-2"))
    _import(str(path))
    article = ArticlePage.objects.get(external_id="r-1")
    revisions_before = article.revisions.count()
    # when: the same file again
    stdout, _ = _import(str(path))
    # then: nothing new, not even a revision
    assert stdout == "Imported: 0 created, 0 updated, 2 unchanged, 0 rejected.\n"
    assert ArticlePage.objects.count() == 2
    assert article.revisions.count() == revisions_before
    # when: one row changes
    _jsonl(
        path, _record("r-1", title="New title", body="<p>New body.</p>"), _record("r-2")
    )
    stdout, _ = _import(str(path))
    # then: the same page carries the change, live, with no duplicate
    assert stdout == "Imported: 0 created, 1 updated, 1 unchanged, 0 rejected.\n"
    assert ArticlePage.objects.filter(external_id="r-1").count() == 1
    updated = page_reload(article)
    assert updated.pk == article.pk
    assert (updated.title, updated.live, updated.has_unpublished_changes) == (
        "New title",
        True,
        False,
    )
    assert _paragraphs(updated) == ["<p>New body.</p>"]
    assert list(updated.topics.all()) == []
    assert updated.revisions.count() == revisions_before + 1


@pytest.mark.django_db
def test_updated_article_stays_in_its_section_when_the_row_names_another(tmp_path):
    # given
    article = ArticlePageFactory(external_id="m-1", title="Old")
    section = article.get_parent()
    path = _jsonl(tmp_path / "move.jsonl", _record("m-1", section="elsewhere"))
    # when
    stdout, _ = _import(path)
    # then
    assert stdout == "Imported: 0 created, 1 updated, 0 unchanged, 0 rejected.\n"
    moved = page_reload(article)
    assert moved.title == "Article m-1"
    assert moved.get_parent().pk == section.pk
    assert not SectionPage.objects.filter(slug="elsewhere").exists()


@pytest.mark.django_db
def test_bad_row_writes_no_page_topic_or_author(tmp_path):
    # given: the row names a new topic and author, but its date is wrong
    path = _jsonl(
        tmp_path / "bad.jsonl",
        _record(
            "b-1",
            topics=["Volcanoes"],
            author="New Person",
            section="brand-new",
            published="31/12/2025",
        ),
    )
    # when
    _, stderr, _ = _import_failing(path)
    # then
    assert stderr == "line 1: published '31/12/2025' is not an ISO date or datetime\n"
    assert not ArticlePage.objects.exists()
    assert not Topic.objects.filter(name="Volcanoes").exists()
    assert not Author.objects.filter(name="New Person").exists()
    assert not SectionPage.objects.exists()


@pytest.mark.django_db
def test_row_failing_while_saving_is_rolled_back_whole(tmp_path, monkeypatch):
    # given: saving the page fails after its topic and author were made
    def failing_create(**kwargs):
        raise ValidationError("slug clash")

    monkeypatch.setattr("cms.importing.article_create", failing_create)
    path = _jsonl(
        tmp_path / "fail.jsonl", _record("f-1", topics=["Geysers"], author="Al Ready")
    )
    # when
    _, stderr, _ = _import_failing(path)
    # then
    assert stderr == "line 1: could not be saved: slug clash\n"
    assert not Topic.objects.filter(name="Geysers").exists()
    assert not Author.objects.filter(name="Al Ready").exists()
    assert not ArticlePage.objects.exists()


@pytest.mark.django_db
def test_draft_import_publishes_nothing_until_imported_without_draft(tmp_path):
    # given
    path = _jsonl(tmp_path / "draft.jsonl", _record("d-1"))
    # when
    _import(path, "--draft")
    # then
    article = ArticlePage.objects.get(external_id="d-1")
    assert not article.live
    # when: the same content imported for real
    stdout, _ = _import(path)
    # then: it is published, as an update
    assert stdout == "Imported: 0 created, 1 updated, 0 unchanged, 0 rejected.\n"
    assert page_reload(article).live


@pytest.mark.django_db
def test_missing_standfirst_is_the_first_thirty_words_of_the_body(tmp_path):
    # given
    words = [f"w{number}" for number in range(40)]
    body = f"<h2>Heading</h2><p>{' '.join(words[:20])}</p><p>{' '.join(words[20:])}</p>"
    path = _jsonl(
        tmp_path / "s.jsonl",
        _record("s-1", body=body),
        _record("s-2", standfirst="  Given one. "),
    )
    # when
    _import(path)
    # then
    derived = ArticlePage.objects.get(external_id="s-1").standfirst
    assert derived == " ".join(words[:30]) + "…"
    assert ArticlePage.objects.get(external_id="s-2").standfirst == "Given one."


@pytest.mark.django_db
def test_existing_section_is_found_by_title_and_topic_by_name(tmp_path):
    # given
    section = SectionPageFactory(title="World Affairs", slug="world")
    topic = Topic.objects.create(name="AI", slug="artificial-intelligence")
    path = _jsonl(
        tmp_path / "w.jsonl", _record("w-1", section="world affairs", topics=["ai"])
    )
    # when
    _import(path)
    # then
    article = ArticlePage.objects.get(external_id="w-1")
    assert article.get_parent().pk == section.pk
    assert list(article.topics.all()) == [topic]
    assert Topic.objects.count() == 1


@pytest.mark.django_db
def test_file_level_problems_fail_with_one_line_and_write_nothing(tmp_path):
    # given
    unknown = tmp_path / "feed.txt"
    unknown.write_text(json.dumps(_record("x-1")) + "\n", encoding="utf-8")
    headless = tmp_path / "noheader.csv"
    headless.write_text("x-1,First,Some text,news\n", encoding="utf-8")
    # when / then
    _, _, missing = _import_failing(str(tmp_path / "nope.jsonl"))
    assert str(missing) == f"file not found: {tmp_path / 'nope.jsonl'}"
    _, _, unsupported = _import_failing(str(unknown))
    assert str(unsupported) == (
        "cannot tell the format of 'feed.txt' from its extension; "
        "use .jsonl, .ndjson or .csv, or pass --format jsonl|csv"
    )
    _, _, no_header = _import_failing(str(headless))
    assert str(no_header) == (
        "the CSV header row must name the columns; "
        "missing: external_id, title, body, section"
    )
    assert not ArticlePage.objects.exists()
    # when: the format is given explicitly, the .txt file imports
    stdout, _ = _import(str(unknown), "--format", "jsonl")
    # then
    assert stdout == "Imported: 1 created, 0 updated, 0 unchanged, 0 rejected.\n"
    assert ArticlePage.objects.filter(external_id="x-1").exists()

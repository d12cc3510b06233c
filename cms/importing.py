"""Article import from JSON Lines or CSV files: read, validate, then upsert by row."""

import csv
import datetime
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import slugify
from wagtail.rich_text import RichText

from cms.limits import InputRejected, json_loads_limited, text_problem
from cms.models import ArticlePage, Author, SectionPage, Topic
from cms.sanitise import body_blocks_text, html_to_body_blocks
from cms.services import (
    article_create,
    author_ensure,
    home_page_ensure,
    section_ensure,
    topic_ensure,
)

FORMATS = ("jsonl", "csv")
FORMAT_BY_EXTENSION = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
REQUIRED_FIELDS = ("external_id", "title", "body", "section")
STANDFIRST_WORDS = 30
# Field lengths of Page.title, ArticlePage, Topic, Author and SectionPage; the
# other fields (body, standfirst, source before it is split) have no limit.
MAX_LENGTHS = {
    "external_id": 255,
    "title": 255,
    "section": 255,
    "topic": 100,
    "author": 150,
    "attribution": 255,
    "source_url": 500,
}
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

_is_web_url = URLValidator(schemes=["http", "https"])


class ImportFileError(Exception):
    """The file as a whole cannot be imported (missing, unreadable, wrong format)."""


class RowRejected(Exception):
    """One row cannot be imported; nothing of it was written."""

    def __init__(self, *, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class ImportRow:
    """A record as read from the file, before validation."""

    line: int
    fields: dict[str, Any]
    parse_error: str = ""


@dataclass(frozen=True)
class ArticleRecord:
    """A validated row: everything an article needs, nothing written yet."""

    line: int
    external_id: str
    title: str
    standfirst: str
    body: list[tuple[str, object]]
    section: str
    topics: list[str]
    author: str
    published_date: datetime.date | None
    attribution: str
    source_url: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowRejected] = field(default_factory=list)


# reading


def import_format_detect(*, path: Path, file_format: str | None = None) -> str:
    """The file's format: the override if given, else from its extension."""
    if file_format is not None:
        if file_format not in FORMATS:
            raise ImportFileError(
                f"unsupported format {file_format!r}; use one of: {', '.join(FORMATS)}"
            )
        return file_format
    detected = FORMAT_BY_EXTENSION.get(path.suffix.lower())
    if detected is None:
        raise ImportFileError(
            f"cannot tell the format of {path.name!r} from its extension; "
            "use .jsonl, .ndjson or .csv, or pass --format jsonl|csv"
        )
    return detected


def import_rows_read(*, path: Path, file_format: str | None = None) -> list[ImportRow]:
    """Every record of the file with its 1-based line, read before any write."""
    file_format = import_format_detect(path=path, file_format=file_format)
    try:
        # utf-8-sig: spreadsheets often save CSV with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ImportFileError(f"file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise ImportFileError(f"not a file: {path}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"cannot read {path.name}: not UTF-8 text ({exc.reason} at byte "
            f"{exc.start})"
        ) from exc
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return _jsonl_rows(text) if file_format == "jsonl" else _csv_rows(text)


def _jsonl_rows(text: str) -> list[ImportRow]:
    rows: list[ImportRow] = []
    # Split on "\n" only: str.splitlines() would also break on U+2028 and other
    # separators that JSON allows inside strings, and miscount lines.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json_loads_limited(line)
        except json.JSONDecodeError as exc:
            rows.append(
                ImportRow(
                    line=number,
                    fields={},
                    parse_error=f"invalid JSON: {exc.msg} (column {exc.colno})",
                )
            )
            continue
        except InputRejected as exc:
            rows.append(
                ImportRow(line=number, fields={}, parse_error=f"invalid JSON: {exc}")
            )
            continue
        if not isinstance(record, dict):
            rows.append(
                ImportRow(
                    line=number, fields={}, parse_error="a line must be a JSON object"
                )
            )
            continue
        rows.append(ImportRow(line=number, fields=record))
    return rows


def _csv_rows(text: str) -> list[ImportRow]:
    # strict: a quote left open (a file cut short) is an error for its row, not
    # a field that silently swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(
            "the CSV file is empty; a header row is required"
        ) from None
    except csv.Error as exc:
        raise ImportFileError(f"the CSV header row cannot be read: {exc}") from exc
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_FIELDS if name not in names]
    if missing:
        raise ImportFileError(
            "the CSV header row must name the columns; missing: " + ", ".join(missing)
        )
    rows: list[ImportRow] = []
    while True:
        # A quoted field may span lines: the record starts after the last one read.
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(ImportRow(line=start, fields={}, parse_error=f"bad CSV: {exc}"))
            continue
        if not any(value.strip() for value in values):
            continue
        # Extra cells beyond the header are ignored, like unknown fields.
        rows.append(
            ImportRow(line=start, fields=dict(zip(names, values, strict=False)))
        )
    return rows


# validating


def import_row_external_id(*, row: ImportRow) -> str:
    """The row's external_id, checked, so duplicates can be caught early."""
    if row.parse_error:
        raise RowRejected(line=row.line, reason=row.parse_error)
    value = row.fields.get("external_id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return _text(row, "external_id", value, required=True)


def article_record_validate(*, row: ImportRow) -> ArticleRecord:
    """The row checked in full and normalised; raises RowRejected with the reason."""
    fields = row.fields
    external_id = import_row_external_id(row=row)
    title = _text(row, "title", fields.get("title"), required=True)
    section = _text(row, "section", fields.get("section"), required=True)
    if not slugify(section):
        raise RowRejected(line=row.line, reason=f"section {section!r} has no letters")
    body_source = _text(row, "body", fields.get("body"), required=True)
    body = html_to_body_blocks(html=body_source)
    if not body:
        raise RowRejected(line=row.line, reason="body has no text once sanitised")
    standfirst = _text(row, "standfirst", fields.get("standfirst"))
    author = _text(row, "author", fields.get("author"))
    if author and not slugify(author):
        raise RowRejected(line=row.line, reason=f"author {author!r} has no letters")
    source = _text(row, "source", fields.get("source"))
    attribution, source_url = _source_split(row, source)
    return ArticleRecord(
        line=row.line,
        external_id=external_id,
        title=title,
        standfirst=standfirst or _standfirst_from_body(body),
        body=body,
        section=section,
        topics=_topics(row, fields.get("topics")),
        author=author,
        published_date=_published_date(row, fields.get("published")),
        attribution=attribution,
        source_url=source_url,
    )


def _text(row: ImportRow, name: str, value: Any, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RowRejected(line=row.line, reason=f"{name} must be text")
    problem = text_problem(value)
    if problem:
        raise RowRejected(line=row.line, reason=f"{name} {problem}")
    value = value.strip()
    if required and not value:
        raise RowRejected(line=row.line, reason=f"missing required field {name!r}")
    limit = MAX_LENGTHS.get(name)
    if limit is not None and len(value) > limit:
        raise RowRejected(
            line=row.line, reason=f"{name} is longer than {limit} characters"
        )
    return value


def _topics(row: ImportRow, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        # One separator per cell, the first of ; | , that occurs, so a topic
        # name may contain a comma when the cell uses ; or |.
        separator = next((sep for sep in ";|," if sep in value), ",")
        names = value.split(separator)
    elif isinstance(value, list) and all(isinstance(name, str) for name in value):
        names = value
    else:
        raise RowRejected(line=row.line, reason="topics must be a list of names")
    topics: list[str] = []
    for name in (name.strip() for name in names):
        if not name:
            continue
        problem = text_problem(name)
        if problem:
            raise RowRejected(line=row.line, reason=f"a topic {problem}")
        if len(name) > MAX_LENGTHS["topic"]:
            raise RowRejected(
                line=row.line,
                reason=f"topic {name[:20]!r}... is longer than "
                f"{MAX_LENGTHS['topic']} characters",
            )
        if not slugify(name):
            raise RowRejected(line=row.line, reason=f"topic {name!r} has no letters")
        if name.lower() not in (topic.lower() for topic in topics):
            topics.append(name)
    return topics


def _published_date(row: ImportRow, value: Any) -> datetime.date | None:
    text = _text(row, "published", value)
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise RowRejected(
            line=row.line,
            reason=f"published {text!r} is not an ISO date or datetime",
        ) from None
    if timezone.is_aware(moment):
        try:
            moment = timezone.localtime(moment)
        except OverflowError:
            raise RowRejected(
                line=row.line,
                reason=f"published {text!r} is outside the representable range",
            ) from None
    return moment.date()


def _source_split(row: ImportRow, source: str) -> tuple[str, str]:
    """A URL goes to source_url, anything else is attribution text."""
    if re.match(r"https?://", source, flags=re.IGNORECASE):
        try:
            _is_web_url(source)
        except ValidationError:
            raise RowRejected(
                line=row.line, reason=f"source {source[:60]!r} is not a valid URL"
            ) from None
        if len(source) > MAX_LENGTHS["source_url"]:
            raise RowRejected(
                line=row.line,
                reason=f"source URL is longer than {MAX_LENGTHS['source_url']} "
                "characters",
            )
        return "", source
    if len(source) > MAX_LENGTHS["attribution"]:
        raise RowRejected(
            line=row.line,
            reason=f"source is longer than {MAX_LENGTHS['attribution']} characters",
        )
    return source, ""


def _standfirst_from_body(body: list[tuple[str, object]]) -> str:
    words = body_blocks_text(blocks=body).split()
    standfirst = " ".join(words[:STANDFIRST_WORDS])
    return f"{standfirst}…" if len(words) > STANDFIRST_WORDS else standfirst


# writing


@transaction.atomic
def article_upsert(*, record: ArticleRecord, publish: bool = True) -> str:
    """Create or update the article with the record's external_id, in one transaction.

    Returns "created", "updated" or "unchanged". An existing article stays in
    its section even if the record names another one.
    """
    topics = [_topic_resolve(name=name) for name in record.topics]
    author = _author_resolve(name=record.author) if record.author else None
    existing = (
        ArticlePage.objects.filter(external_id=record.external_id)
        .order_by("pk")
        .first()
    )
    if existing is None:
        article_create(
            section=_section_resolve(name=record.section),
            title=record.title,
            standfirst=record.standfirst,
            body=record.body,
            topics=topics,
            author=author,
            published_date=record.published_date,
            attribution=record.attribution,
            source_url=record.source_url,
            external_id=record.external_id,
            publish=publish,
        )
        return CREATED
    # Edit the latest revision, as the admin does, so an editor's pending draft
    # of fields the import does not set (the hero image) is kept.
    article = existing.get_latest_revision_as_object()
    wanted = _record_state(record=record, topics=topics, author=author)
    if _article_state(article=article) == wanted:
        if not publish or (existing.live and not existing.has_unpublished_changes):
            return UNCHANGED
        revision = existing.get_latest_revision() or article.save_revision()
        revision.publish()
        return UPDATED
    article.title = record.title
    article.standfirst = record.standfirst
    article.body = [
        (kind, RichText(value) if kind == "paragraph" else value)
        for kind, value in record.body
    ]
    article.topics = topics
    article.author = author
    article.published_date = record.published_date
    article.attribution = record.attribution
    article.source_url = record.source_url
    revision = article.save_revision()
    if publish:
        revision.publish()
    return UPDATED


def _article_state(*, article: ArticlePage) -> dict[str, Any]:
    return {
        "title": article.title,
        "standfirst": article.standfirst,
        "body": [
            (block.block_type, block.block.get_prep_value(block.value))
            for block in article.body
        ],
        "topics": sorted(topic.pk for topic in article.topics.all()),
        "author": article.author_id,
        "published_date": article.published_date,
        "attribution": article.attribution,
        "source_url": article.source_url,
    }


def _record_state(
    *, record: ArticleRecord, topics: list[Topic], author: Author | None
) -> dict[str, Any]:
    return {
        "title": record.title,
        "standfirst": record.standfirst,
        "body": list(record.body),
        "topics": sorted(topic.pk for topic in topics),
        "author": author.pk if author else None,
        "published_date": record.published_date,
        "attribution": record.attribution,
        "source_url": record.source_url,
    }


def _topic_resolve(*, name: str) -> Topic:
    # By name first: topic_ensure looks up by slug and would clash with the
    # unique name of a topic whose slug was chosen by hand.
    return Topic.objects.filter(name__iexact=name).first() or topic_ensure(name=name)


def _author_resolve(*, name: str) -> Author:
    author = Author.objects.filter(name__iexact=name).order_by("pk").first()
    return author or author_ensure(name=name)


def _section_resolve(*, name: str) -> SectionPage:
    """The home page's section with this slug or title, created if there is none."""
    home = home_page_ensure()
    sections = SectionPage.objects.child_of(home).order_by("path")
    slug = slugify(name)[:255]
    section = (
        sections.filter(slug=name).first()
        or sections.filter(title__iexact=name).first()
        or sections.filter(slug=slug).first()
    )
    if section is not None:
        return section
    # A slug-shaped name ("world-news") gets a readable title ("World news").
    title = name.replace("-", " ").capitalize() if name == slug else name
    return section_ensure(home=home, slug=slug, title=title)


# the whole file


def content_import(
    *,
    path: Path,
    file_format: str | None = None,
    publish: bool = True,
    progress: Callable[[Iterable[ImportRow]], Iterable[ImportRow]] = lambda rows: rows,
) -> ImportReport:
    """Import every row of the file; each good row in its own transaction.

    A row is validated in full before anything is written for it, so a bad row
    writes nothing; it is reported with its line and the import goes on.
    Raises ImportFileError if the file cannot be read at all.
    """
    rows = import_rows_read(path=path, file_format=file_format)
    report = ImportReport(rows=len(rows))
    first_line_of: dict[str, int] = {}
    for row in progress(rows):
        try:
            external_id = import_row_external_id(row=row)
            if external_id in first_line_of:
                raise RowRejected(
                    line=row.line,
                    reason=f"external_id {external_id!r} repeats line "
                    f"{first_line_of[external_id]}",
                )
            first_line_of[external_id] = row.line
            record = article_record_validate(row=row)
            outcome = _article_upsert_or_reject(record=record, publish=publish)
        except RowRejected as rejection:
            report.rejected.append(rejection)
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _article_upsert_or_reject(*, record: ArticleRecord, publish: bool) -> str:
    # article_upsert's transaction has been rolled back by the time this catches.
    try:
        return article_upsert(record=record, publish=publish)
    except ValidationError as exc:
        reason = "; ".join(" ".join(message.split()) for message in exc.messages)
    except DatabaseError as exc:
        reason = " ".join(str(exc).split())
    raise RowRejected(line=record.line, reason=f"could not be saved: {reason}")

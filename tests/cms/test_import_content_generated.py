"""import_content on generated files: bad rows reported by line, good rows imported."""

import io
import itertools
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cms.models import ArticlePage

_counter = itertools.count()
# Each class of bad record, as the raw text of one JSON Lines line.
_BAD_LINES = [
    '{"external_id": "ID", "title": "a\\u0000b", "body": "x", "section": "news"}',
    '{"external_id": "ID", "title": "\\ud800", "body": "x", "section": "news"}',
    '{"external_id": "ID", "title": "t\\u0007", "body": "x", "section": "news"}',
    '{"external_id": "ID", "title": "t", "body": "x", "section": "news", '
    '"published": "0001-01-01T00:00:00+14:00"}',
    '{"external_id": "ID", "title": "t", "body": "x", "section": "news", '
    '"published": "not a date"}',
    '{"external_id": "ID", "body": "x", "section": "news"}',
    '{"external_id": "ID", "title": "' + "t" * 300 + '", "body": "x", "section": "n"}',
    '{"external_id": "ID", "title": "t", "body": "x", "section": "news", '
    '"topics": [' + "[" * 5000 + "]" * 5000 + "]}",
    '{"external_id": "ID", "title": "t", "body": "x", "section": "news", '
    '"topics": "a\\u0000b"}',
    '{"external_id": "ID", "title": "t", "body": ',
    "[1, 2, 3]",
    '{"external_id": "ID", "title": "t", "body": "<p></p>", "section": "news"}',
]


# Any letters, digits, punctuation and spaces, from every script.
_TITLES = st.text(
    st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=40
).filter(str.strip)


@st.composite
def _files(draw) -> tuple[list[str], set[int], int]:
    """(lines, bad line numbers, good record count)."""
    run = next(_counter)
    kinds = draw(
        st.lists(st.one_of(st.none(), st.sampled_from(_BAD_LINES)), max_size=12)
    )
    lines, bad, good = [], set(), 0
    for number, kind in enumerate(kinds, start=1):
        external_id = f"gen-{run}-{number}"
        if kind is None:
            title = draw(_TITLES)
            record = {
                "external_id": external_id,
                "title": title,
                "body": "<p>Some words about a subject.</p>",
                "section": "generated",
            }
            good += 1
            lines.append(json.dumps(record))
        else:
            lines.append(kind.replace("ID", external_id))
            bad.add(number)
    return lines, bad, good


@pytest.mark.django_db
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(generated=_files())
def test_generated_content_files_import_good_rows_and_report_bad_lines(
    tmp_path, generated
):
    # given
    lines, bad, good = generated
    path = tmp_path / f"articles-{next(_counter)}.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    before = ArticlePage.objects.count()
    stdout, stderr = io.StringIO(), io.StringIO()
    # when
    try:
        call_command(
            "import_content", str(path), "--no-progress", stdout=stdout, stderr=stderr
        )
    except CommandError:
        pass
    # then
    reported = {
        int(line.split(":")[0].split()[1])
        for line in stderr.getvalue().splitlines()
        if line.startswith("line ")
    }
    assert reported == bad
    assert ArticlePage.objects.count() == before + good

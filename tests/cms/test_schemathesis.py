"""Schemathesis against /api/schema/ on a live server: no 5xx, nothing off-schema.

Runs the schemathesis command line against pytest-django's live server, with
bounded examples per operation (SCHEMATHESIS_MAX_EXAMPLES, default 8: the run
stays around a minute; raise it for a longer hunt), the stateful phase following
the schema's OpenAPI links. It runs once with an all-scopes API key and once
with a reader token (most operations then answer their documented 403).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cms.models.api_keys import SCOPES
from cms.reader_tokens import reader_token_issue
from tests.factories import ArticlePageFactory

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "response_schema_conformance",
        "content_type_conformance",
    ]
)


@pytest.fixture(params=["api_key", "reader_token"])
def schemathesis_auth_header(request, make_api_key) -> str:
    """`Name: value` of the credential the run sends with every request."""
    if request.param == "api_key":
        _, key = make_api_key(*SCOPES, name="schemathesis")
        return f"Authorization: Api-Key {key}"
    if request.param == "reader_token":
        return f"Authorization: Reader {reader_token_issue(reader='st-1').token}"
    raise ValueError(request.param)  # pragma: no cover


@pytest.mark.slow
def test_the_api_answers_every_generated_request_within_its_schema(
    live_server, schemathesis_auth_header, tmp_path
):
    # given a little content to find, and the live server's schema
    articles = [ArticlePageFactory() for _ in range(3)]
    assert articles
    report = tmp_path / "report.ndjson"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{live_server.url}/api/schema/",
        "--url",
        live_server.url,
        "--header",
        schemathesis_auth_header,
        "--checks",
        CHECKS,
        "--max-examples",
        os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        os.environ.get("SCHEMATHESIS_SEED", "1"),
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--request-timeout",
        "30",
    ]
    # when
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    # then: exit 0 means no check failed on any generated request
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    generated = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert generated, summary
    assert int(generated.group(1)) == int(generated.group(2)) > 100
    assert '"status_code":5' not in report.read_text()
    assert "✅ Stateful" in summary, summary  # the links were followed
    print(f"schemathesis: {generated.group(1)} requests, 0 failures")

"""The OpenAPI 3 schema generates without warnings and is a valid document."""

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_schema_generates_without_warnings_and_validates(tmp_path):
    # given
    target = tmp_path / "schema.yaml"
    # when: --fail-on-warn turns any drf-spectacular warning into an error
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    schema = yaml.safe_load(target.read_text())
    # then
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/topics" in schema["paths"]
    assert "ApiKeyAuth" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_schema_and_docs_are_served():
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Content engine API"
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # Served from the project (drf-spectacular-sidecar), never from a CDN.
    assert b"cdn" not in docs.content.lower()
    assert b"/static/drf_spectacular_sidecar/" in docs.content
    redoc = client.get("/api/redoc/")
    assert redoc.status_code == 200
    assert b"/static/drf_spectacular_sidecar/redoc" in redoc.content


ERROR_CODES = ("400", "401", "403", "404", "429")


def _schema(**headers) -> dict:
    response = APIClient().get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json", **headers
    )
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.django_db
def test_every_operation_documents_its_errors_with_the_error_schema():
    # given
    schema = _schema()
    missing = []
    # when
    for name, operation in _operations(schema):
        for code in ERROR_CODES:
            content = operation["responses"].get(code, {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if ref != "#/components/schemas/Error":
                missing.append(f"{name} {code}")
    # then
    assert len(list(_operations(schema))) > 20
    assert missing == []


@pytest.mark.django_db
def test_schema_names_the_server_asked_and_both_credentials():
    schema = _schema(HTTP_HOST="cms.example.org:8100")
    assert schema["servers"] == [
        {"url": "http://cms.example.org:8100", "description": "This server"}
    ]
    schemes = schema["components"]["securitySchemes"]
    assert {"ApiKeyAuth", "ReaderToken"} <= set(schemes)
    operations = dict(_operations(schema))
    assert {"ReaderToken": []} in operations["GET /api/v1/feed"]["security"]
    assert {"ReaderToken": []} in operations["POST /api/v1/events"]["security"]
    assert {"ReaderToken": []} not in operations["GET /api/v1/audiences"]["security"]
    assert {} in operations["GET /api/v1/topics"]["security"]
    assert {} not in operations["GET /api/v1/feed"]["security"]


@pytest.mark.django_db
def test_bounds_are_minimum_and_maximum_not_prose():
    operations = dict(_operations(_schema()))

    def bounds(operation: str, name: str) -> tuple:
        parameter = next(
            p for p in operations[operation]["parameters"] if p["name"] == name
        )
        return parameter["schema"]["minimum"], parameter["schema"]["maximum"]

    assert bounds("GET /api/v1/pages/{page_id}/similar", "n") == (1, 50)
    assert bounds("GET /api/v1/readers/{external_id}/digest", "n") == (1, 50)
    assert bounds("GET /api/v1/pages/{page_id}/performance", "days") == (1, 365)
    assert bounds("GET /api/v1/feed", "n") == (1, 100)
    assert bounds("GET /api/v2/pages/", "limit") == (1, 100)
    assert bounds("GET /api/v1/jobs", "limit") == (1, 200)


@pytest.mark.django_db
def test_token_and_event_operations_have_examples():
    operations = dict(_operations(_schema()))
    for name, status in [
        ("POST /api/v1/reader-tokens", "201"),
        ("POST /api/v1/events", "200"),
    ]:
        operation = operations[name]
        request = operation["requestBody"]["content"]["application/json"]
        response = operation["responses"][status]["content"]["application/json"]
        assert request["examples"], name
        assert response["examples"], name


@pytest.mark.django_db
def test_links_lead_from_a_token_to_the_feed_and_from_a_brief_to_its_job():
    operations = dict(_operations(_schema()))
    token_links = operations["POST /api/v1/reader-tokens"]["responses"]["201"]["links"]
    brief_links = operations["POST /api/v1/briefs"]["responses"]["202"]["links"]
    ids = {operation["operationId"] for operation in operations.values()}
    assert token_links["ReaderFeed"]["operationId"] == "feed_retrieve"
    assert brief_links["Job"]["parameters"] == {"job_id": "$response.body#/job"}
    for link in [*token_links.values(), *brief_links.values()]:
        assert link["operationId"] in ids

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

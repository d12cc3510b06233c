"""The /api/v2/ description in /api/schema/ matches what v2 really answers."""

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from rest_framework.test import APIClient
from wagtail.documents.models import Document

from cms.services import cover_image_create
from tests.factories import ArticlePageFactory, TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def content():
    image = cover_image_create(title="A cover", label="Science")
    article = ArticlePageFactory(
        title="Described", topics=[TopicFactory(slug="oceans")], hero_image=image
    )
    document = Document.objects.create(title="Report")
    return {"article": article, "image": image, "document": document}


@pytest.fixture
def schema() -> dict:
    return APIClient().get("/api/schema/?format=json").json()


def _validate(schema: dict, path: str, response) -> None:
    """Validate a response against what the schema says `path` answers."""
    declared = schema["paths"][path]["get"]["responses"][str(response.status_code)]
    body_schema = declared["content"]["application/json"]["schema"]
    root = {"allOf": [body_schema], "components": schema["components"]}
    OAS30Validator(root, format_checker=oas30_format_checker).validate(response.json())


def _requests(content) -> list[tuple[str, str]]:
    article, image = content["article"], content["image"]
    return [
        ("/api/v2/pages/", "/api/v2/pages/"),
        ("/api/v2/pages/", "/api/v2/pages/?type=cms.ArticlePage&fields=*"),
        ("/api/v2/pages/", "/api/v2/pages/?fields=_,title&limit=2&offset=1"),
        ("/api/v2/pages/", f"/api/v2/pages/?child_of={article.get_parent().pk}"),
        ("/api/v2/pages/{id}/", f"/api/v2/pages/{article.pk}/"),
        ("/api/v2/pages/{id}/", f"/api/v2/pages/{article.get_parent().pk}/"),
        ("/api/v2/pages/", "/api/v2/pages/?limit=0"),
        ("/api/v2/pages/", "/api/v2/pages/?nonsense=1"),
        ("/api/v2/pages/{id}/", "/api/v2/pages/999999/"),
        ("/api/v2/images/", "/api/v2/images/"),
        ("/api/v2/images/{id}/", f"/api/v2/images/{image.pk}/"),
        ("/api/v2/documents/", "/api/v2/documents/"),
        ("/api/v2/documents/{id}/", f"/api/v2/documents/{content['document'].pk}/"),
    ]


def test_real_v2_responses_match_the_schema(content, schema):
    # given
    client = APIClient()
    seen = set()
    # when / then: every answer, success or error, is what the schema says
    for path, url in _requests(content):
        response = client.get(url, HTTP_HOST="cms.example.org:8100")
        seen.add(response.status_code)
        _validate(schema, path, response)
    assert seen == {200, 400, 404}


def test_every_field_of_a_real_article_is_described(content, schema):
    # given: the article, its image and a listing with every field
    client = APIClient()
    article = client.get(f"/api/v2/pages/{content['article'].pk}/").json()
    image = client.get(f"/api/v2/images/{content['image'].pk}/").json()
    page_schema = schema["components"]["schemas"]["ContentPage"]
    image_schema = schema["components"]["schemas"]["ContentImage"]
    # then: nothing v2 answers is left to additionalProperties
    assert set(article) - set(page_schema["properties"]) == set()
    meta_schema = page_schema["properties"]["meta"]["properties"]
    assert set(article["meta"]) - set(meta_schema) == set()
    assert set(image) - set(image_schema["properties"]) == set()


def test_the_schema_rejects_what_v2_does_not_answer(schema):
    # A check of the check: a wrong type in a real shape fails validation.
    wrong = {"meta": {"total_count": "three"}, "items": []}
    listing = schema["paths"]["/api/v2/pages/"]["get"]["responses"]["200"]
    root = {
        "allOf": [listing["content"]["application/json"]["schema"]],
        "components": schema["components"],
    }
    with pytest.raises(Exception, match="is not of type 'integer'"):
        OAS30Validator(root).validate(wrong)

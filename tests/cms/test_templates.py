"""The site's own pages render for a visitor (the CMS is headless, not blind)."""

import re

import pytest
from django.test import Client

from tests.factories import ArticlePageFactory

pytestmark = pytest.mark.django_db


def test_home_section_and_article_pages_render():
    # given
    article = ArticlePageFactory(title="Rendered article", standfirst="Standfirst.")
    section = article.get_parent()
    client = Client()
    # when
    home = client.get("/")
    section_page = client.get(section.url)
    article_page = client.get(article.url)
    # then
    assert home.status_code == 200
    assert section.title in home.content.decode()
    assert "Rendered article" in section_page.content.decode()
    body = article_page.content.decode()
    assert article_page.status_code == 200
    # headings carry an anchor id (the AI label links to "#sources")
    assert re.search(r"<h2( id=\"[\w-]+\")?>A heading</h2>", body)
    assert "Some words about the subject" in body


def test_draft_article_is_not_served():
    draft = ArticlePageFactory(title="Draft only", publish=False)
    assert Client().get(draft.url or f"/{draft.slug}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_image_can_be_stored_after_a_flush():
    # given: a database flushed as a test teardown or a restore leaves it
    from django.core.management import call_command

    from cms.services import cover_image_create

    call_command("flush", interactive=False, verbosity=0)
    # when: a cover is stored (in the root collection, which flush deleted)
    image = cover_image_create(title="After a flush")
    # then
    assert image.collection.depth == 1

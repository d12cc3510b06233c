"""seed_demo builds a readable demo site once; a second run changes nothing."""

import pytest
from django.core.management import call_command
from wagtail.images import get_image_model
from wagtail.models import Page, Revision, Site

from cms.demo import demo_articles_read
from cms.models import ArticlePage, Author, HomePage, SectionPage, Topic


def _counts() -> dict[str, int]:
    return {
        "pages": Page.objects.count(),
        "articles": ArticlePage.objects.count(),
        "live_articles": ArticlePage.objects.live().count(),
        "sections": SectionPage.objects.count(),
        "topics": Topic.objects.count(),
        "authors": Author.objects.count(),
        "images": get_image_model().objects.count(),
        "revisions": Revision.objects.count(),
    }


def test_shipped_articles_meet_the_brief():
    # given / when
    records = demo_articles_read()
    # then: >= 100 articles of 150-600 words in >= 6 sections and >= 30 topics
    assert len(records) >= 100
    assert len({record["section"] for record in records}) >= 6
    assert len({topic for record in records for topic in record["topics"]}) >= 30
    for record in records:
        words = sum(len(block["text"].split()) for block in record["body"])
        assert 150 <= words <= 600, record["slug"]
        assert "lorem" not in " ".join(b["text"] for b in record["body"]).lower()


@pytest.mark.django_db
def test_seed_demo_builds_the_site_and_is_idempotent():
    # given / when
    call_command("seed_demo", "--no-progress")
    first = _counts()
    call_command("seed_demo", "--no-progress")
    second = _counts()
    # then
    assert first == second
    assert first["articles"] == first["live_articles"] == len(demo_articles_read())
    assert first["sections"] == 8
    assert first["topics"] == 40
    assert first["images"] == first["articles"]
    home = HomePage.objects.get()
    assert Site.objects.get(is_default_site=True).root_page_id == home.pk
    article = ArticlePage.objects.live().first()
    assert article.hero_image is not None
    assert article.author is not None
    assert article.topics.count() >= 1
    assert 150 <= len(article.body_text().split()) <= 600


@pytest.mark.django_db
def test_seed_demo_synthetic_adds_more_each_run():
    # given
    call_command("seed_demo", "--no-progress")
    before = ArticlePage.objects.count()
    # when
    call_command("seed_demo", "--no-progress", "--synthetic", "15")
    call_command("seed_demo", "--no-progress", "--synthetic", "5")
    # then
    synthetic = ArticlePage.objects.filter(slug__startswith="synthetic-")
    assert ArticlePage.objects.count() == before + 20
    assert synthetic.live().count() == 20
    assert all(page.topics.count() == 2 for page in synthetic)
    assert synthetic.filter(slug="synthetic-20").exists()

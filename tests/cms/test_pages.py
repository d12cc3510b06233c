"""Page rules and computed fields of the content models."""

import pytest
from wagtail.models import Page

from cms.models import ArticlePage, HomePage, SectionPage
from tests.factories import ArticlePageFactory


def test_page_rules_fix_the_tree_shape():
    # given / when / then: home -> section -> article, nothing else
    assert SectionPage in HomePage.allowed_subpage_models()
    assert ArticlePage not in HomePage.allowed_subpage_models()
    assert ArticlePage in SectionPage.allowed_subpage_models()
    assert ArticlePage.allowed_subpage_models() == []
    assert ArticlePage.allowed_parent_page_models() == [SectionPage]
    assert SectionPage.allowed_parent_page_models() == [HomePage]
    assert HomePage.allowed_parent_page_models() == [Page]


@pytest.mark.django_db
def test_article_cannot_be_created_under_home():
    # given
    article = ArticlePageFactory()
    home = HomePage.objects.get()
    # when / then
    assert not ArticlePage.can_create_at(home)
    assert ArticlePage.can_create_at(article.get_parent())


@pytest.mark.django_db
def test_reading_time_counts_standfirst_and_body_at_230_words_a_minute():
    # given: 10 standfirst words + 450 paragraph words + 40 quote words = 500 words
    body = [
        ("paragraph", "<p>" + " ".join(["word"] * 450) + "</p>"),
        ("quote", {"text": " ".join(["said"] * 40), "attribution": "Someone"}),
    ]
    article = ArticlePageFactory(standfirst=" ".join(["intro"] * 10), body=body)
    # when
    minutes = ArticlePage.objects.get(pk=article.pk).reading_time
    # then: ceil(500 / 230) = 3
    assert article.word_count == 500
    assert minutes == 3


@pytest.mark.django_db
def test_short_article_reads_in_at_least_one_minute():
    article = ArticlePageFactory(body=[("heading", "Tiny")])
    assert article.reading_time == 1


@pytest.mark.django_db
def test_article_search_fields_index_standfirst_and_topics():
    # given
    from tests.factories import TopicFactory

    topic = TopicFactory(name="Volcanology", slug="volcanology")
    ArticlePageFactory(title="Plain title", standfirst="Nothing here", topics=[topic])
    ArticlePageFactory(title="Other", standfirst="Deep sea glowing plankton")
    # when
    by_topic = ArticlePage.objects.live().search("Volcanology")
    by_standfirst = ArticlePage.objects.live().search("plankton")
    # then
    assert [page.title for page in by_topic] == ["Plain title"]
    assert [page.title for page in by_standfirst] == ["Other"]

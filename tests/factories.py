"""factory_boy factories for the content models and API keys."""

import datetime

import factory
from wagtail.models import Page

from cms.models import ArticlePage, Author, SectionPage, Topic
from cms.services import article_create, home_page_ensure, section_ensure


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Author {n}")
    slug = factory.Sequence(lambda n: f"author-{n}")
    bio = "Writes things."


class SectionPageFactory(factory.Factory):
    """A live section under the site's home page."""

    class Meta:
        model = SectionPage

    title = factory.Sequence(lambda n: f"Section {n}")
    slug = factory.Sequence(lambda n: f"section-{n}")
    intro = "A section."

    @classmethod
    def _create(cls, model_class, **kwargs):
        return section_ensure(home=home_page_ensure(), **kwargs)


class ArticlePageFactory(factory.Factory):
    """An article created through the same service the product uses."""

    class Meta:
        model = ArticlePage

    section = factory.SubFactory(SectionPageFactory)
    title = factory.Sequence(lambda n: f"Article number {n}")
    standfirst = "A short summary of the article."
    body = factory.LazyFunction(
        lambda: [
            ("heading", "A heading"),
            ("paragraph", "<p>Some words about the subject of this article.</p>"),
        ]
    )
    published_date = factory.LazyFunction(datetime.date.today)
    author = factory.SubFactory(AuthorFactory)
    publish = True

    @classmethod
    def _create(cls, model_class, topics=(), **kwargs):
        return article_create(topics=list(topics), **kwargs)


def page_reload(page: Page) -> Page:
    return Page.objects.get(pk=page.pk).specific

"""Content models of the site, importable from one place."""

from cms.models.api_keys import ApiKey
from cms.models.pages import ArticlePage, HomePage, SectionPage
from cms.models.snippets import Author, Topic

__all__ = [
    "ApiKey",
    "ArticlePage",
    "Author",
    "HomePage",
    "SectionPage",
    "Topic",
]

"""The article formats a brief may ask for, and what each asks of the writer."""

from django.db import models


class Format(models.TextChoices):
    FEATURE = "feature", "Feature"
    EXPLAINER = "explainer", "Explainer"
    QA = "qa", "Q&A"
    LIST = "list", "List"
    HOW_TO = "how_to", "How-to"
    NEWS_BRIEF = "news_brief", "News brief"

    @classmethod
    def parse(cls, value: str | None) -> "Format":
        """The format named (its value or label, any case); feature otherwise."""
        wanted = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
        for item in cls:
            if wanted in (item.value, item.label.lower().replace(" ", "_")):
                return item
        return cls.FEATURE


# What the prompt tells a model about the structure of each format.
FORMAT_INSTRUCTIONS = {
    Format.FEATURE: (
        "A feature: an introduction that answers the topic and angle, three to five "
        "sections with headings of your own, and a short closing section."
    ),
    Format.EXPLAINER: (
        "An explainer: start with the short answer, then sections that each explain "
        "one part of it, then the bottom line."
    ),
    Format.QA: (
        "A Q&A: after a short introduction, every section heading is a question a "
        "reader would ask (ending with '?'), and the section answers it."
    ),
    Format.LIST: (
        "A list article: a short introduction, then numbered sections ('1. ...', "
        "'2. ...'), each one point, then the takeaway."
    ),
    Format.HOW_TO: (
        "A how-to: a short introduction, then numbered steps as section headings "
        "('Step 1: ...', 'Step 2: ...'), each saying what to do and why."
    ),
    Format.NEWS_BRIEF: (
        "A news brief of at most 300 words, inverted pyramid: the most important "
        "fact first, then supporting detail, then background; no headings (one "
        "section with an empty heading per paragraph)."
    ),
}

"""`{% served_media page "narration" as narration %}`: approved media on pages."""

from django import template

from generation.media.api import page_media

register = template.Library()


@register.simple_tag(takes_context=True)
def served_media(context, page, kind: str) -> dict | None:
    """The page's approved, current narration or clip, or None."""
    return page_media(page=page, kind=kind, request=context.get("request"))

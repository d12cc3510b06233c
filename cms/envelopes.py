"""The one list envelope of /api/v1/: {count, next, previous, results}."""

from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils.encoding import iri_to_uri
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from cms.queries import query_lists
from cms.request_urls import request_base_url


def list_envelope(
    *,
    results: list,
    count: int,
    next_url: str | None = None,
    previous_url: str | None = None,
) -> dict:
    return {
        "count": count,
        "next": next_url,
        "previous": previous_url,
        "results": results,
    }


def _with_offset(request: HttpRequest, offset: int, name: str) -> str:
    """The request's absolute URL with ``name`` set to ``offset`` (in its place
    when present, else last): what QueryDict.copy() and build_absolute_uri
    give, without copying the query (a feed builds this on every request)."""
    pairs = []
    placed = False
    for key, values in query_lists(request).items():
        if key != name:
            pairs.extend((key, value) for value in values)
        elif not placed:
            pairs.append((name, str(offset)))
            placed = True
    if not placed:
        pairs.append((name, str(offset)))
    return iri_to_uri(f"{request_base_url(request)}{request.path}?{urlencode(pairs)}")


def page_links(
    request: HttpRequest,
    *,
    offset: int,
    size: int,
    count: int,
    max_offset: int,
    offset_name: str = "offset",
) -> tuple[str | None, str | None]:
    """Absolute URLs of the next and previous pages (None where there is none)."""
    following = offset + size
    next_url = None
    if following < count and following <= max_offset:
        next_url = _with_offset(request, following, offset_name)
    previous_url = None
    if offset > 0:
        previous_url = _with_offset(request, max(offset - size, 0), offset_name)
    return next_url, previous_url


def list_envelope_serializer(*, name: str, item: serializers.Serializer):
    """The schema of an envelope around `item` (a serializer instance, many=True)."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(
                help_text="How many results there are in all."
            ),
            "next": serializers.URLField(
                allow_null=True, help_text="The next page, or null."
            ),
            "previous": serializers.URLField(
                allow_null=True, help_text="The previous page, or null."
            ),
            "results": item,
        },
    )

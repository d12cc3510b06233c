"""Reading a request's query string cheaply when it needs no decoding."""

import re

from django.conf import settings
from django.http import HttpRequest

# A query string of these characters only (no escapes, nothing past ASCII, no
# controls) decodes to text with nothing for text_problem to find, and a run of
# fewer than 19 digits is within the 64-bit id range: the common query (a feed's)
# skips the per-parameter checks.
PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.~=&+,:/@!$'()*;-]*\Z")
LONG_DIGITS = re.compile(r"\d{19}")


def query_lists(request: HttpRequest) -> dict[str, list[str]]:
    """The query's values by name, as ``request.GET.lists()`` gives them.

    A query string with nothing to decode (PLAIN_QUERY's characters, no "+"
    for a space) is split directly: the hot paths' queries. Building Django's
    QueryDict (a MultiValueDict filled pair by pair) cost a feed more than its
    cache read. Anything else, or a request whose GET is already built or set,
    is read from request.GET. Kept on the request.
    """
    cached = getattr(request, "_query_lists", None)
    if cached is not None:
        return cached
    query = request.META.get("QUERY_STRING", "")
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if (
        "GET" in request.__dict__
        or "+" in query
        or not PLAIN_QUERY.match(query)
        or (limit is not None and query.count("&") >= limit)
    ):
        lists = dict(request.GET.lists())  # decodes, and refuses too many fields
    else:
        lists = {}
        for piece in query.split("&"):
            if piece:
                name, _, value = piece.partition("=")
                lists.setdefault(name, []).append(value)
    request._query_lists = lists
    return lists


def query_params(request: HttpRequest) -> dict[str, str]:
    """Each query parameter's last value, as ``request.GET.get`` gives them."""
    return {name: values[-1] for name, values in query_lists(request).items()}


def query_value(request: HttpRequest, name: str, default=None):
    """The last value of a query parameter, as ``request.GET.get`` gives it."""
    values = query_lists(request).get(name)
    return values[-1] if values else default

"""The reader demo page: pick a simulated reader, see the feed adapt to clicks."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cms.api_errors import error_response
from cms.reader_tokens import ANONYMOUS_PREFIX, reader_token_issue
from recommend.models import Reader

DEMO_READER_PREFIX = "sim-"


def _demo_enabled() -> None:
    if not settings.RECOMMEND_DEMO_PAGE:
        raise Http404("The reader demo page is turned off.")


def reader_demo(request: HttpRequest) -> HttpResponse:
    _demo_enabled()
    readers = list(
        Reader.objects.filter(erased=False, external_id__startswith=DEMO_READER_PREFIX)
        .order_by("pk")
        .values_list("external_id", flat=True)[:24]
    )
    return render(request, "recommend/demo.html", {"readers": readers})


@never_cache
@require_GET
def reader_demo_token(request: HttpRequest) -> JsonResponse:
    """The demo's stand-in for a front-end's server: a reader token, never a key.

    A real front-end's server mints tokens with its `readers:issue` key for the
    reader it has signed in; the demo hands out tokens for its simulated readers
    (`sim-...`) and for new anonymous ones only.
    """
    _demo_enabled()
    reader = request.GET.get("reader") or None
    if reader is not None and not reader.startswith(
        (DEMO_READER_PREFIX, ANONYMOUS_PREFIX)
    ):
        return error_response(
            status_code=403,
            message="The demo hands out tokens for simulated and anonymous readers.",
        )
    try:
        issued = reader_token_issue(reader=reader)
    except ValueError as exc:
        return error_response(status_code=400, message=str(exc))
    return JsonResponse(
        {
            "reader": issued.reader,
            "token": issued.token,
            "expires_at": issued.expires_at.isoformat().replace("+00:00", "Z"),
        }
    )

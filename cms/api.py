"""The Wagtail API v2 router: pages, images and documents, live content only."""

from django.urls import NoReverseMatch
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView
from wagtail.api import APIField
from wagtail.api.utils import get_full_url
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.serializers import (
    PageAliasOfField,
    PageHtmlUrlField,
    PageParentField,
    PageSerializer,
    get_serializer_class,
)
from wagtail.api.v2.utils import BadRequestError
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.documents.api.v2.views import DocumentsAPIViewSet
from wagtail.images.api.fields import ImageRenditionField
from wagtail.images.api.v2.views import ImagesAPIViewSet

from cms.api_errors import BadRequest
from cms.auth import ApiKeyAuthentication, ApiKeyThrottle, HasScope, content_read_scope
from cms.http_caching import PublicCacheMixin
from cms.limits import search_query_clean
from cms.reader_tokens import ReaderTokenAuthentication
from cms.request_urls import request_base_url_bound
from cms.selectors import image_public_list, pages_live_only


class RequestPageHtmlUrlField(PageHtmlUrlField):
    """`html_url` on the host and port the API was asked on (Wagtail: the Site's)."""

    def to_representation(self, page):
        request = self.context.get("request")
        try:
            url = page.get_url(request=request)
        except NoReverseMatch:
            return None
        return get_full_url(request, url) if url else None


class RequestRenditionField(ImageRenditionField):
    """A rendition whose `full_url` follows the request, like every other URL."""

    def to_representation(self, image):
        rendition = super().to_representation(image)
        if "url" in rendition:
            rendition["full_url"] = get_full_url(
                self.context.get("request"), rendition["url"]
            )
        return rendition


def _page_summary(value, context) -> dict:
    serializer_class = get_serializer_class(
        value.__class__,
        ["id", "type", "detail_url", "html_url", "title"],
        meta_fields=["type", "detail_url", "html_url"],
        base=RequestPageSerializer,
    )
    return serializer_class(context=context).to_representation(value)


class RequestPageParentField(PageParentField):
    def to_representation(self, value):
        return _page_summary(value, self.context)


class RequestPageAliasOfField(PageAliasOfField):
    def to_representation(self, value):
        return _page_summary(value, self.context)


class RequestPageSerializer(PageSerializer):
    html_url = RequestPageHtmlUrlField(read_only=True)
    parent = RequestPageParentField(read_only=True)
    alias_of = RequestPageAliasOfField(read_only=True)


class ContentApiMixin(PublicCacheMixin):
    """Shared by the v2 endpoints: key check by setting, the JSON error shape,
    and HTTP caching (ETag, Cache-Control, 304)."""

    authentication_classes = [ApiKeyAuthentication, ReaderTokenAuthentication]
    permission_classes = [HasScope]
    reader_access = True
    throttle_classes = [ApiKeyThrottle]
    renderer_classes = [JSONRenderer]

    def get_required_scope(self) -> str | None:
        return content_read_scope()

    def dispatch(self, request, *args, **kwargs):
        # detail_url (WAGTAILAPI_BASE_URL) follows this request's host and port.
        with request_base_url_bound(request):
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "search" in request.GET:
            query = request.GET.copy()
            query["search"] = search_query_clean(query["search"])
            request._request.GET = query

    def handle_exception(self, exc):
        # Skip Wagtail's own {"message": ...} handling: one error shape everywhere.
        if isinstance(exc, BadRequestError):
            exc = BadRequest(str(exc))
        return APIView.handle_exception(self, exc)


MAX_PAGE_IDS = 100


def page_ids_parse(value: str) -> list[int]:
    """`?id=1,2,3`: the ids, or a 400 keyed by `id`."""
    parts = value.split(",")
    if len(parts) > MAX_PAGE_IDS:
        raise ValidationError({"id": [f"At most {MAX_PAGE_IDS} ids."]})
    if not all(part.isascii() and part.isdigit() and len(part) < 19 for part in parts):
        raise ValidationError({"id": ["Comma-separated whole numbers, e.g. 1,2,3."]})
    return [int(part) for part in parts]


class LivePagesAPIViewSet(ContentApiMixin, PagesAPIViewSet):
    base_serializer_class = RequestPageSerializer

    def get_base_queryset(self):
        return pages_live_only(queryset=super().get_base_queryset())

    def filter_queryset(self, queryset):
        # Several pages in one call (`?id=1,2,3`, cards of a feed); Wagtail's own
        # field filter takes one id only. Visibility stays with the base queryset.
        value = self.request.GET.get("id")
        if value is not None and "," in value:
            queryset = queryset.filter(pk__in=page_ids_parse(value))
            query = self.request.GET.copy()
            del query["id"]
            self.request._request.GET = query
        return super().filter_queryset(queryset)


class RenditionImagesAPIViewSet(ContentApiMixin, ImagesAPIViewSet):
    body_fields = ImagesAPIViewSet.body_fields + [
        APIField(
            "thumbnail", serializer=RequestRenditionField("fill-400x225", source="*")
        ),
        APIField("medium", serializer=RequestRenditionField("width-800", source="*")),
    ]
    listing_default_fields = ImagesAPIViewSet.listing_default_fields + ["thumbnail"]

    def get_queryset(self):
        # Wagtail's collection privacy, and only images a public page uses.
        public = image_public_list().values("pk")
        return super().get_queryset().filter(pk__in=public)


class PublicDocumentsAPIViewSet(ContentApiMixin, DocumentsAPIViewSet):
    """Documents outside view-restricted collections (Wagtail's own rule); no
    page type embeds documents, so no page's visibility bears on them."""


api_router = WagtailAPIRouter("wagtailapi")
api_router.register_endpoint("pages", LivePagesAPIViewSet)
api_router.register_endpoint("images", RenditionImagesAPIViewSet)
api_router.register_endpoint("documents", PublicDocumentsAPIViewSet)

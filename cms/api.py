"""The Wagtail API v2 router: pages, images and documents, live content only."""

from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView
from wagtail.api import APIField
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.utils import BadRequestError
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.documents.api.v2.views import DocumentsAPIViewSet
from wagtail.images.api.fields import ImageRenditionField
from wagtail.images.api.v2.views import ImagesAPIViewSet

from cms.api_errors import BadRequest
from cms.auth import ApiKeyAuthentication, ApiKeyThrottle, HasScope, content_read_scope
from cms.selectors import pages_live_only


class ContentApiMixin:
    """Shared by the v2 endpoints: key check by setting and the JSON error shape."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiKeyThrottle]
    renderer_classes = [JSONRenderer]

    def get_required_scope(self) -> str | None:
        return content_read_scope()

    def handle_exception(self, exc):
        # Skip Wagtail's own {"message": ...} handling: one error shape everywhere.
        if isinstance(exc, BadRequestError):
            exc = BadRequest(str(exc))
        return APIView.handle_exception(self, exc)


class LivePagesAPIViewSet(ContentApiMixin, PagesAPIViewSet):
    def get_base_queryset(self):
        return pages_live_only(queryset=super().get_base_queryset())


class RenditionImagesAPIViewSet(ContentApiMixin, ImagesAPIViewSet):
    body_fields = ImagesAPIViewSet.body_fields + [
        APIField(
            "thumbnail", serializer=ImageRenditionField("fill-400x225", source="*")
        ),
        APIField("medium", serializer=ImageRenditionField("width-800", source="*")),
    ]
    listing_default_fields = ImagesAPIViewSet.listing_default_fields + ["thumbnail"]


class PublicDocumentsAPIViewSet(ContentApiMixin, DocumentsAPIViewSet):
    pass


api_router = WagtailAPIRouter("wagtailapi")
api_router.register_endpoint("pages", LivePagesAPIViewSet)
api_router.register_endpoint("images", RenditionImagesAPIViewSet)
api_router.register_endpoint("documents", PublicDocumentsAPIViewSet)

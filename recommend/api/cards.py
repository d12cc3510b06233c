"""Card fields of feed, similar and digest items: `fields=` and absolute image URLs."""

from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from cms.request_urls import request_base_url
from recommend.serving.cards import CARD_FIELDS


def fields_parameter(allowed: tuple[str, ...]) -> OpenApiParameter:
    return OpenApiParameter(
        "fields",
        str,
        required=False,
        description=(
            "Comma-separated item fields to return (`id` always comes): "
            + ", ".join(name for name in allowed if name != "id")
            + ". Default: all of them. An unknown name is a 400 under "
            "`details.fields`."
        ),
    )


def fields_parse(value: str | None, *, allowed: tuple[str, ...]) -> tuple | None:
    """The item fields asked for, in `allowed` order; None when the value is bad."""
    if value is None:
        return allowed
    names = {name for name in value.split(",") if name}
    if not names or not names <= set(allowed):
        return None
    return tuple(name for name in allowed if name in names or name == "id")


def fields_clean(value: str | None, *, allowed: tuple[str, ...]) -> tuple:
    """Like fields_parse, with the 400 that names the unknown fields."""
    fields = fields_parse(value, allowed=allowed)
    if fields is None:
        unknown = sorted(
            {name for name in (value or "").split(",") if name} - set(allowed)
        )
        message = (
            f"Unknown fields: {', '.join(unknown)[:200]}." if unknown else "Empty."
        )
        raise ValidationError({"fields": [f"{message} Allowed: {', '.join(allowed)}."]})
    return fields


def media_base(request) -> str:
    """Scheme, host and port of the request, for absolute media URLs."""
    return request_base_url(request)


def renditions_absolute(renditions: dict | None, base: str) -> dict | None:
    if renditions is None:
        return None
    return {
        name: {**rendition, "url": _absolute(rendition["url"], base)}
        for name, rendition in renditions.items()
    }


def _absolute(url: str, base: str) -> str:
    # Object storage already answers absolute URLs; local media is a path.
    return base + url if url.startswith("/") else url


def item_body(values: dict, card: dict | None, *, fields: tuple, base: str) -> dict:
    """One item in the asked-for fields: its own values, then its card's."""
    body = {}
    for name in fields:
        if name in values:
            body[name] = values[name]
        elif name == "hero_image_renditions":
            body[name] = renditions_absolute(card[name] if card else None, base)
        else:
            body[name] = card[name] if card else None
    return body


def fields_want_cards(fields: tuple) -> bool:
    return any(name in CARD_FIELDS for name in fields)


@extend_schema_serializer(component_name="CardSection")
class CardSectionSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()


@extend_schema_serializer(component_name="CardRendition")
class CardRenditionSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Absolute URL of the image file.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    alt = serializers.CharField(allow_blank=True)


@extend_schema_serializer(component_name="CardRenditions")
class CardRenditionsSerializer(serializers.Serializer):
    thumbnail = CardRenditionSerializer(help_text="400×225, cropped.")
    medium = CardRenditionSerializer(help_text="800 wide.")
    large = CardRenditionSerializer(help_text="1600 wide.")


class CardFieldsSerializer(serializers.Serializer):
    """The card fields every item carries unless `fields=` leaves them out."""

    standfirst = serializers.CharField(required=False)
    published_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the article was first published (RFC 3339, UTC, `Z`).",
    )
    reading_time = serializers.IntegerField(
        required=False, allow_null=True, help_text="Minutes, at 230 words a minute."
    )
    section = CardSectionSerializer(required=False, allow_null=True)
    hero_image_renditions = CardRenditionsSerializer(
        required=False, allow_null=True, help_text="null without a hero image."
    )

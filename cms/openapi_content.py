"""The Wagtail API v2 (/api/v2/) in the OpenAPI schema, written by hand.

Wagtail's viewsets are not typed for drf-spectacular, so their paths are added
by a postprocessing hook from the description below. A test validates real v2
responses against it (tests/cms/test_openapi_content.py), so it cannot drift.
Fields vary with `?fields=` and the page type: nothing in an item is required,
additional properties are allowed, and the fields this project's page types
add are described with their types.
"""

from django.conf import settings

ERROR = {"$ref": "#/components/schemas/Error"}
NULLABLE_STRING = {"type": "string", "nullable": True}

RENDITION = {
    "type": "object",
    "description": "An image rendition; `full_url` is absolute, on the host asked.",
    "properties": {
        "url": {"type": "string"},
        "full_url": {"type": "string", "format": "uri"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "alt": {"type": "string"},
        "error": {"type": "string", "description": "Set when the file is missing."},
    },
}
OBJECT_META = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "example": "cms.ArticlePage"},
        "detail_url": {"type": "string", "format": "uri"},
        "html_url": {**NULLABLE_STRING, "format": "uri"},
        "download_url": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": True,
}
OBJECT_REF = {
    "type": "object",
    "description": "Another object in short: id, meta (type, detail_url), title.",
    "properties": {
        "id": {"type": "integer"},
        "meta": OBJECT_META,
        "title": {"type": "string"},
    },
    "additionalProperties": True,
}
PAGE_META = {
    "type": "object",
    "properties": {
        **OBJECT_META["properties"],
        "slug": {"type": "string"},
        "show_in_menus": {"type": "boolean"},
        "seo_title": {"type": "string"},
        "search_description": {"type": "string"},
        "first_published_at": {**NULLABLE_STRING, "format": "date-time"},
        "alias_of": {**OBJECT_REF, "nullable": True},
        "parent": {**OBJECT_REF, "nullable": True},
        "locale": {"type": "string"},
        "search_score": {"type": "number"},
    },
    "additionalProperties": True,
}
TOPIC = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "slug": {"type": "string"},
    },
}
PAGE = {
    "type": "object",
    "description": (
        "A live page. Listings show id, meta and title unless `fields` asks for "
        "more; a detail shows every field of its type. Article fields below."
    ),
    "properties": {
        "id": {"type": "integer"},
        "meta": PAGE_META,
        "title": {"type": "string"},
        "intro": {"type": "string", "description": "Home and section pages."},
        "standfirst": {"type": "string"},
        "body": {
            "type": "array",
            "description": "StreamField blocks: heading, paragraph (HTML), quote, "
            "image, article_link, claim.",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "value": {},
                    "id": {"type": "string"},
                },
                "required": ["type", "value"],
            },
        },
        "hero_image": {**OBJECT_REF, "nullable": True},
        "hero_image_renditions": {
            "type": "object",
            "nullable": True,
            "properties": {
                "thumbnail": RENDITION,
                "medium": RENDITION,
                "large": RENDITION,
            },
        },
        "topics": {"type": "array", "items": TOPIC},
        "author": {
            "type": "object",
            "nullable": True,
            "properties": {**TOPIC["properties"], "bio": {"type": "string"}},
        },
        "published_date": {**NULLABLE_STRING, "format": "date"},
        "reading_time": {"type": "integer", "description": "Minutes."},
        "attribution": {"type": "string"},
        "source_url": {"type": "string"},
        "external_id": {"type": "string"},
        "ai_disclosure": {
            "type": "object",
            "description": "Whether AI wrote it, with what, from which sources, "
            "approved by whom.",
            "properties": {"generated": {"type": "boolean"}},
            "additionalProperties": True,
        },
        "narration": {"type": "object", "nullable": True, "additionalProperties": True},
        "clip": {"type": "object", "nullable": True, "additionalProperties": True},
    },
    "additionalProperties": True,
}
IMAGE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "meta": OBJECT_META,
        "title": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "thumbnail": RENDITION,
        "medium": RENDITION,
    },
    "additionalProperties": True,
}
DOCUMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "meta": OBJECT_META,
        "title": {"type": "string"},
    },
    "additionalProperties": True,
}
COMPONENTS = {"ContentPage": PAGE, "ContentImage": IMAGE, "ContentDocument": DOCUMENT}

ERROR_DESCRIPTIONS = {
    "400": "An unknown query parameter or field, a bad filter or order.",
    "401": "A bad API key or reader token (or none when the deployment "
    "requires content:read).",
    "403": "The API key lacks content:read.",
    "404": "No such live object.",
    "429": "Too many requests; the Retry-After header says when to retry.",
}


def _parameter(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _listing_parameters(*, pages: bool) -> list[dict]:
    limit_max = getattr(settings, "WAGTAILAPI_LIMIT_MAX", 20) or 1000
    parameters = [
        _parameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": limit_max, "default": 20},
            "How many items.",
        ),
        _parameter(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": 10_000, "default": 0},
            "Items to skip.",
        ),
        _parameter(
            "fields",
            {"type": "string", "example": "title,standfirst,hero_image_renditions"},
            "Fields to add (`a,b`), remove (`-a`), all (`*`) or only (`_,a`).",
        ),
        _parameter(
            "order", {"type": "string", "example": "-first_published_at"}, "Order."
        ),
        _parameter("search", {"type": "string", "maxLength": 200}, "Full-text search."),
    ]
    if pages:
        parameters += [
            _parameter(
                "type",
                {"type": "string", "example": "cms.ArticlePage"},
                "Page type (app_label.Model); unlocks that type's fields.",
            ),
            _parameter(
                "child_of", {"type": "integer", "minimum": 1}, "Children of a page."
            ),
            _parameter(
                "descendant_of",
                {"type": "integer", "minimum": 1},
                "Descendants of a page.",
            ),
            _parameter("locale", {"type": "string", "example": "en"}, "Language."),
            _parameter(
                "id",
                {
                    "type": "string",
                    "pattern": "^[0-9]{1,18}(,[0-9]{1,18}){0,99}$",
                    "example": "88,91,95",
                },
                "Several pages at once: up to 100 comma-separated ids (pages not "
                "live and public are left out; `limit` still applies).",
            ),
        ]
    return parameters


def _responses(schema: dict) -> dict:
    responses = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": schema}},
        }
    }
    for code, description in ERROR_DESCRIPTIONS.items():
        responses[code] = {
            "description": description,
            "content": {"application/json": {"schema": ERROR}},
        }
    return responses


def _listing(component: str) -> dict:
    return {
        "type": "object",
        "required": ["meta", "items"],
        "properties": {
            "meta": {
                "type": "object",
                "required": ["total_count"],
                "properties": {"total_count": {"type": "integer", "minimum": 0}},
            },
            "items": {
                "type": "array",
                "items": {"$ref": f"#/components/schemas/{component}"},
            },
        },
    }


def _content_paths() -> dict:
    security = [{"ApiKeyAuth": []}, {"ReaderToken": []}, {}]
    paths = {}
    for name, component, pages in [
        ("pages", "ContentPage", True),
        ("images", "ContentImage", False),
        ("documents", "ContentDocument", False),
    ]:
        tag = f"content-{name}"
        paths[f"/api/v2/{name}/"] = {
            "get": {
                "operationId": f"v2_{name}_list",
                "summary": f"List live {name}",
                "tags": [tag],
                "security": security,
                "parameters": _listing_parameters(pages=pages),
                "responses": _responses(_listing(component)),
            }
        }
        paths[f"/api/v2/{name}/{{id}}/"] = {
            "get": {
                "operationId": f"v2_{name}_retrieve",
                "summary": f"One live {name[:-1]} with every field",
                "tags": [tag],
                "security": security,
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    _parameter("fields", {"type": "string"}, "As for the listing."),
                ],
                "responses": _responses({"$ref": f"#/components/schemas/{component}"}),
            }
        }
    return paths


def content_api_paths(result, generator, request, public):
    """Postprocessing hook: add /api/v2/ pages, images and documents."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    result.setdefault("paths", {}).update(_content_paths())
    return result

"""Reader tokens: short-lived signed credentials a browser holds for one reader.

A server (holding an API key with `readers:issue`) asks for a token for one of its
readers and hands it to that reader's browser or app, which sends
`Authorization: Reader <token>`. The token is Django-signed (SECRET_KEY, with
SECRET_KEY_FALLBACKS for rotation) and carries the reader's external id, its
expiry and optionally the one origin allowed to use it; nothing is stored, so
any web process verifies it without a query.
"""

import datetime
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from cms.limits import identifier_problem

KEYWORD = "Reader"
SALT = "cms.reader-token"
MAX_READER_LENGTH = 255
ANONYMOUS_PREFIX = "anon-"


@dataclass(frozen=True)
class ReaderPrincipal:
    """Who a verified reader token speaks for (the request's `auth`)."""

    reader: str
    expires_at: datetime.datetime
    origin: str | None = None


@dataclass(frozen=True)
class IssuedReaderToken:
    reader: str
    token: str
    expires_at: datetime.datetime


class ReaderTokenInvalid(exceptions.AuthenticationFailed):
    default_code = "invalid_reader_token"


def reader_id_anonymous() -> str:
    """A fresh reader id no one else has: for a visitor the front-end cannot name."""
    return ANONYMOUS_PREFIX + secrets.token_urlsafe(12)


def reader_token_issue(
    *,
    reader: str | None = None,
    origin: str | None = None,
    ttl_seconds: int | None = None,
    issued_at: datetime.datetime | None = None,
) -> IssuedReaderToken:
    """A signed token for `reader` (a new anonymous id when None).

    `ttl_seconds` may shorten, never lengthen, READER_TOKEN_TTL_SECONDS.
    """
    reader = reader if reader is not None else reader_id_anonymous()
    problem = identifier_problem(reader)
    if not reader or problem or len(reader) > MAX_READER_LENGTH:
        raise ValueError(f"Not a usable reader id: {problem or 'empty or too long'}.")
    ttl = settings.READER_TOKEN_TTL_SECONDS
    if ttl_seconds is not None:
        ttl = min(ttl, ttl_seconds)
    issued_at = issued_at or timezone.now()
    expires_at = (issued_at + datetime.timedelta(seconds=ttl)).replace(microsecond=0)
    payload = {"r": reader, "e": int(expires_at.timestamp())}
    if origin:
        payload["o"] = origin
    token = signing.dumps(payload, salt=SALT, compress=True)
    return IssuedReaderToken(reader=reader, token=token, expires_at=expires_at)


def reader_token_verify(*, token: str, origin: str | None = None) -> ReaderPrincipal:
    """The reader a token speaks for, or ReaderTokenInvalid saying why (a 401).

    A token bound to an origin is only good on requests from that origin.
    """
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise ReaderTokenInvalid("Invalid reader token.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), str):
        raise ReaderTokenInvalid("Invalid reader token.")
    expires_at = datetime.datetime.fromtimestamp(int(payload.get("e", 0)), datetime.UTC)
    if expires_at <= timezone.now():
        raise ReaderTokenInvalid(
            "This reader token has expired: ask the server for a new one.",
            code="reader_token_expired",
        )
    bound_origin = payload.get("o")
    if bound_origin and bound_origin != origin:
        raise ReaderTokenInvalid(
            f"This reader token is only valid from the origin {bound_origin}."
        )
    return ReaderPrincipal(
        reader=payload["r"], expires_at=expires_at, origin=bound_origin
    )


def reader_of_request(*, auth, reader: str | None) -> str | None:
    """The reader a request may act for: its token's own, or whichever a key names.

    With a reader token, `reader` may be omitted (the token's reader) and any
    other reader is a 403. With an API key, `reader` is whatever the server says.
    """
    if not isinstance(auth, ReaderPrincipal):
        return reader
    if reader is not None and reader != auth.reader:
        raise exceptions.PermissionDenied(
            "A reader token acts for its own reader only: this is another reader.",
            code="other_reader",
        )
    return auth.reader


class ReaderTokenAuthentication(authentication.BaseAuthentication):
    """Reads `Authorization: Reader <token>`; a bad or expired token is a 401.

    Only views with `reader_access = True` accept the principal (cms.auth.HasScope);
    they then act for `request.auth.reader` alone.
    """

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(
            "latin-1", errors="replace"
        )
        keyword, _, token = header.strip().partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None
        token = token.strip()
        if not token:
            raise ReaderTokenInvalid("Empty reader token.")
        principal = reader_token_verify(
            token=token, origin=request.META.get("HTTP_ORIGIN")
        )
        return (AnonymousUser(), principal)

    def authenticate_header(self, request) -> str:
        return KEYWORD


class ReaderTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cms.reader_tokens.ReaderTokenAuthentication"
    name = "ReaderToken"

    def get_security_requirement(self, auto_schema):
        # Listed only where a reader token is accepted (`reader_access`).
        if not getattr(auto_schema.view, "reader_access", False):
            return None
        return super().get_security_requirement(auto_schema)

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Reader <token>` from POST /api/v1/reader-tokens: acts for one "
                "reader only (their feed, digest and events), for browsers and apps."
            ),
        }

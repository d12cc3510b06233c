"""The one place a webhook leaves the process: a signed POST with a short timeout."""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

from cms.webhooks.signing import (
    EVENT_HEADER,
    ID_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

ALLOWED_SCHEMES = ("http", "https")
RESPONSE_EXCERPT_CHARS = 300


class TargetRefused(Exception):
    """The URL may not be called (scheme, or a private address when refused)."""


@dataclass(frozen=True)
class Response:
    status_code: int | None
    milliseconds: int
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def target_check(url: str) -> None:
    """Raise TargetRefused unless ``url`` is http(s) and, when
    WEBHOOK_ALLOW_PRIVATE is off, resolves only to public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
        raise TargetRefused(
            "The URL must start with http:// or https:// and name a host."
        )
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443)
    except OSError as error:
        raise TargetRefused(f"The host does not resolve: {error}") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise TargetRefused(
                f"{parts.hostname} resolves to {address}, a private address "
                "(set WEBHOOK_ALLOW_PRIVATE to allow it)."
            )


def webhook_post(
    *, url: str, secret: str, body: bytes, delivery_id: str, event: str
) -> Response:
    """POST ``body`` signed now; never raises for a network or HTTP failure."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "content-engine-webhooks/1",
        ID_HEADER: delivery_id,
        EVENT_HEADER: event,
        SIGNATURE_HEADER: signature_header(
            secret=secret, body=body, timestamp=int(time.time())
        ),
    }
    started = time.monotonic()
    try:
        target_check(url)
        reply = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            # A redirect could lead anywhere, private addresses included.
            allow_redirects=False,
        )
    except (TargetRefused, requests.RequestException) as error:
        return Response(None, _since(started), f"{type(error).__name__}: {error}")
    response = Response(reply.status_code, _since(started), "")
    if response.ok:
        return response
    excerpt = reply.text[:RESPONSE_EXCERPT_CHARS]
    return Response(
        reply.status_code, response.milliseconds, f"HTTP {reply.status_code}: {excerpt}"
    )


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)

"""The X-Webhook-Signature header: HMAC-SHA256 over the timestamp and the body."""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Webhook-Signature"
ID_HEADER = "X-Webhook-Id"
EVENT_HEADER = "X-Webhook-Event"


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_verify(
    *, secret: str, body: bytes, header: str, tolerance_seconds: int = 300
) -> bool:
    """What a receiver checks: a v1 signature matches and the timestamp is fresh.

    The timestamp is signed too, so a replayed request older than the tolerance
    is refused even with its original signature.
    """
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_seconds:
        return False
    expected = signature_header(secret=secret, body=body, timestamp=timestamp)
    expected_digest = expected.rpartition("v1=")[2]
    return any(
        hmac.compare_digest(expected_digest, candidate)
        for candidate in fields.get("v1", [])
    )

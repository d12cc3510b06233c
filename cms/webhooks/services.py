"""Webhook writes: record an event's deliveries, send one, sweep the due ones.

Deliveries are rows written in the transaction of the event itself and sent by
django-q2 once it commits, so a publish never waits on a receiver and no event
is lost when a worker (or the enqueue) dies: the sweep sends whatever is due.
A delivery is claimed before it is sent, so two tasks for one row send once;
receivers still de-duplicate on X-Webhook-Id, since delivery is at least once.
"""

import datetime
import json
import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from cms.webhooks.events import PING
from cms.webhooks.models import WebhookDelivery, WebhookEndpoint
from cms.webhooks.transport import Response, webhook_post

logger = logging.getLogger(__name__)

SEND_TASK = "cms.webhooks.tasks.webhook_delivery_send_task"
SWEEP_BATCH = 500


def _send_enqueue(delivery_id: int) -> None:
    async_task(SEND_TASK, delivery_id, task_name=f"webhook-{delivery_id}")


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _delivery_build(*, endpoint: WebhookEndpoint, event: str, data: dict):
    now = timezone.now()
    delivery = WebhookDelivery(
        endpoint=endpoint, event=event, payload={}, next_attempt_at=now
    )
    delivery.payload = {
        "id": str(delivery.delivery_id),
        "event": event,
        "created_at": _rfc3339(now),
        "data": data,
    }
    return delivery


def webhook_event_emit(*, event: str, data: dict) -> list[WebhookDelivery]:
    """Record one delivery per active endpoint subscribed to ``event``.

    Call it inside the transaction of the event: the rows commit (or roll back)
    with it, and each is enqueued once it commits. A failure here is logged and
    never undoes the event itself (a publish must not fail for a webhook).
    """
    event = str(event)
    try:
        with transaction.atomic():
            endpoints = [
                endpoint
                for endpoint in WebhookEndpoint.objects.filter(active=True)
                if event in endpoint.events
            ]
            deliveries = WebhookDelivery.objects.bulk_create(
                [
                    _delivery_build(endpoint=endpoint, event=event, data=data)
                    for endpoint in endpoints
                ]
            )
    except DatabaseError:
        logger.exception("Webhook deliveries for %s not recorded", event)
        return []
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: _send_enqueue(pk), robust=True)
    return deliveries


def _retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff: base, 3 x base, 9 x base... after attempt 1, 2, 3..."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 3 ** (attempts - 1)
    return datetime.timedelta(
        seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS)
    )


def _lease() -> datetime.timedelta:
    # Longer than one POST can take, so that only a dead sender's claim expires.
    seconds = max(settings.WEBHOOK_LEASE_SECONDS, settings.WEBHOOK_TIMEOUT_SECONDS + 1)
    return datetime.timedelta(seconds=seconds)


def _due(now: datetime.datetime) -> Q:
    pending = Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=WebhookDelivery.Status.SENDING, claimed_at__lt=now - _lease())
    return pending | abandoned


def _body(delivery: WebhookDelivery) -> bytes:
    # The same bytes on every attempt: the stored payload, serialised stably.
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_delivery_send(*, delivery_id: int) -> str:
    """Send delivery ``delivery_id`` if it is due; its status afterwards.

    Not due, delivered, given up or claimed by another sender: nothing is sent,
    so a duplicate or late task is harmless.
    """
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(_due(now), pk=delivery_id)
        .filter(endpoint__active=True)
        .update(
            status=WebhookDelivery.Status.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "missing"
    if not claimed:
        return delivery.status
    response = webhook_post(
        url=delivery.endpoint.url,
        secret=delivery.endpoint.secret,
        body=_body(delivery),
        delivery_id=str(delivery.delivery_id),
        event=delivery.event,
    )
    return _outcome_record(delivery=delivery, claimed_at=now, response=response)


def _outcome_record(
    *, delivery: WebhookDelivery, claimed_at: datetime.datetime, response: Response
) -> str:
    now = timezone.now()
    fields = {
        "last_status_code": response.status_code,
        "last_response_ms": response.milliseconds,
        "last_error": response.error,
        "claimed_at": None,
        "updated_at": now,
    }
    if response.ok:
        status = WebhookDelivery.Status.SUCCEEDED
        fields |= {"status": status, "delivered_at": now, "next_attempt_at": None}
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        status = WebhookDelivery.Status.FAILED
        fields |= {"status": status, "next_attempt_at": None}
    else:
        status = WebhookDelivery.Status.PENDING
        fields |= {
            "status": status,
            "next_attempt_at": now + _retry_delay(delivery.attempts),
        }
    # Only while still ours: a sender whose claim expired must not overwrite
    # the outcome of the one that took over.
    WebhookDelivery.objects.filter(
        pk=delivery.pk,
        status=WebhookDelivery.Status.SENDING,
        claimed_at=claimed_at,
    ).update(**fields)
    return status


def webhook_deliveries_due_send() -> int:
    """Enqueue every due delivery (a retry, or one whose enqueue or sender was
    lost); how many. Run by the "webhooks-sweep" schedule every minute."""
    ids = list(
        WebhookDelivery.objects.filter(_due(timezone.now()), endpoint__active=True)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in ids:
        _send_enqueue(delivery_id)
    return len(ids)


def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a signed "ping" to ``endpoint`` now, in this process; logged like
    any delivery (one attempt, no retry)."""
    delivery = _delivery_build(
        endpoint=endpoint,
        event=PING,
        data={"endpoint": endpoint.pk, "url": endpoint.url},
    )
    delivery.status = WebhookDelivery.Status.SENDING
    delivery.attempts = 1
    delivery.claimed_at = timezone.now()
    delivery.next_attempt_at = None
    delivery.save()
    response = webhook_post(
        url=endpoint.url,
        secret=endpoint.secret,
        body=_body(delivery),
        delivery_id=str(delivery.delivery_id),
        event=PING,
    )
    # A ping is a probe: it is never retried.
    now = timezone.now()
    delivery.status = (
        WebhookDelivery.Status.SUCCEEDED
        if response.ok
        else WebhookDelivery.Status.FAILED
    )
    delivery.last_status_code = response.status_code
    delivery.last_response_ms = response.milliseconds
    delivery.last_error = response.error
    delivery.claimed_at = None
    delivery.delivered_at = now if response.ok else None
    delivery.save()
    return delivery

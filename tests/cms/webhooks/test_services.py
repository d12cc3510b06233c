"""Events become signed deliveries; a failed one is retried with backoff, sent once."""

import datetime
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import Schedule

from cms.models import ArticlePage
from cms.webhooks.models import WebhookDelivery
from cms.webhooks.schedules import SWEEP_SCHEDULE_NAME, sweep_schedule_ensure
from cms.webhooks.services import (
    SEND_TASK,
    webhook_deliveries_due_send,
    webhook_delivery_send,
)
from cms.webhooks.signing import signature_header, signature_verify
from generation.services import brief_create, brief_submit, generation_job_run
from recommend.models import ModelVersion
from recommend.training.service import model_version_promote
from tests.cms.webhooks.conftest import SECRET
from tests.factories import ArticlePageFactory, SectionPageFactory
from tests.workers import queue_purge, queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def section():
    """Made before any endpoint, so that its own publish is no event of a test."""
    queue_purge()
    return SectionPageFactory()


Status = WebhookDelivery.Status


def _queued_delivery_ids() -> list[int]:
    return [task["args"][0] for task in queued_tasks() if task["func"] == SEND_TASK]


def test_a_publish_records_one_delivery_per_subscribed_endpoint_enqueued_on_commit(
    section, receiver, make_endpoint, django_capture_on_commit_callbacks
):
    # given: one endpoint for publishes, one for deletions, one switched off
    subscribed = make_endpoint(receiver.url, "page.published")
    make_endpoint(receiver.url, "page.deleted")
    make_endpoint(receiver.url, "page.published", active=False)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        article = ArticlePageFactory(section=section, title="Webhooks explained")
    # then: one delivery, for the subscribed endpoint, queued for a worker
    delivery = WebhookDelivery.objects.get(event="page.published")
    assert delivery.endpoint == subscribed
    assert delivery.status == Status.PENDING and delivery.attempts == 0
    assert delivery.payload["data"]["id"] == article.pk
    assert delivery.payload["data"]["title"] == "Webhooks explained"
    assert delivery.payload["data"]["type"] == "cms.ArticlePage"
    assert delivery.payload["data"]["api_url"].endswith(f"/api/v2/pages/{article.pk}/")
    assert _queued_delivery_ids() == [delivery.pk]
    # and nothing was sent while publishing
    assert receiver.requests == []


def test_a_delivery_is_signed_and_carries_its_id_and_event(
    section, receiver, make_endpoint
):
    # given
    make_endpoint(receiver.url, "page.published")
    article = ArticlePageFactory(section=section, title="Signed")
    delivery = WebhookDelivery.objects.get()
    # when
    status = webhook_delivery_send(delivery_id=delivery.pk)
    # then
    assert status == Status.SUCCEEDED
    (request,) = receiver.requests
    assert request.headers["X-Webhook-Id"] == str(delivery.delivery_id)
    assert request.headers["X-Webhook-Event"] == "page.published"
    assert request.headers["Content-Type"] == "application/json"
    assert request.signed_by(SECRET)
    assert not request.signed_by("another secret")
    body = request.json
    assert body["id"] == str(delivery.delivery_id)
    assert body["event"] == "page.published"
    assert body["created_at"].endswith("Z")
    assert body["data"]["id"] == article.pk
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.last_status_code == 200
    assert delivery.last_response_ms is not None and delivery.delivered_at


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # given: the documented construction, computed independently
    import hashlib
    import hmac

    body, now = b'{"a":1}', int(time.time())
    expected = hmac.new(b"s3cret", f"{now}.".encode() + body, hashlib.sha256)
    # when
    header = signature_header(secret="s3cret", body=body, timestamp=now)
    # then
    assert header == f"t={now},v1={expected.hexdigest()}"
    assert signature_verify(secret="s3cret", body=body, header=header)
    assert not signature_verify(secret="s3cret", body=b'{"a":2}', header=header)
    stale = signature_header(secret="s3cret", body=body, timestamp=now - 600)
    assert not signature_verify(secret="s3cret", body=body, header=stale)
    assert not signature_verify(secret="s3cret", body=body, header="garbage")


def test_a_receiver_failing_twice_gets_it_on_the_third_try_with_backoff(
    section, receiver, make_endpoint, settings
):
    # given: a receiver that answers 500 twice, retries 0.4 s then 1.2 s apart
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.4
    receiver.statuses = [500, 503]
    make_endpoint(receiver.url, "page.published")
    ArticlePageFactory(section=section)
    delivery = WebhookDelivery.objects.get()
    # when: the first attempt fails
    assert webhook_delivery_send(delivery_id=delivery.pk) == Status.PENDING
    delivery.refresh_from_db()
    first_wait = delivery.next_attempt_at - delivery.updated_at
    # then: nothing is due yet, a early task sends nothing
    assert webhook_deliveries_due_send() == 0
    assert webhook_delivery_send(delivery_id=delivery.pk) == Status.PENDING
    assert len(receiver.requests) == 1
    # when: it is due, the second attempt fails too, the third succeeds
    time.sleep(0.45)
    assert webhook_deliveries_due_send() == 1
    assert webhook_delivery_send(delivery_id=delivery.pk) == Status.PENDING
    delivery.refresh_from_db()
    second_wait = delivery.next_attempt_at - delivery.updated_at
    assert delivery.last_status_code == 503
    assert "receiver is down" in delivery.last_error
    time.sleep(1.25)
    assert webhook_delivery_send(delivery_id=delivery.pk) == Status.SUCCEEDED
    # then: three requests, one delivery id, the same body, backoff x3
    assert len(receiver.requests) == 3
    assert {r.headers["X-Webhook-Id"] for r in receiver.requests} == {
        str(delivery.delivery_id)
    }
    assert len({r.body for r in receiver.requests}) == 1
    assert all(r.signed_by(SECRET) for r in receiver.requests)
    assert first_wait == datetime.timedelta(seconds=0.4)
    assert second_wait == datetime.timedelta(seconds=1.2)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 3)
    assert delivery.last_error == "" and delivery.next_attempt_at is None
    # and a late duplicate task sends nothing more
    assert webhook_delivery_send(delivery_id=delivery.pk) == Status.SUCCEEDED
    assert len(receiver.requests) == 3


def test_a_delivery_gives_up_after_the_last_attempt(
    section, receiver, make_endpoint, settings
):
    # given
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 500, 500]
    make_endpoint(receiver.url, "page.published")
    ArticlePageFactory(section=section)
    delivery = WebhookDelivery.objects.get()
    # when
    statuses = [webhook_delivery_send(delivery_id=delivery.pk) for _ in range(3)]
    # then
    assert statuses == [Status.PENDING, Status.FAILED, Status.FAILED]
    assert len(receiver.requests) == 2
    assert webhook_deliveries_due_send() == 0


def test_an_unreachable_receiver_is_a_logged_failure(section, make_endpoint, settings):
    # given: nothing listens on this port
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    make_endpoint("http://127.0.0.1:9/hook", "page.published")
    ArticlePageFactory(section=section)
    delivery = WebhookDelivery.objects.get()
    # when
    status = webhook_delivery_send(delivery_id=delivery.pk)
    # then
    delivery.refresh_from_db()
    assert status == Status.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error


def test_a_sender_that_died_mid_delivery_is_replaced_by_the_sweep(
    section, receiver, make_endpoint, settings
):
    # given: a delivery claimed by a sender that never came back
    make_endpoint(receiver.url, "page.published")
    ArticlePageFactory(section=section)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    WebhookDelivery.objects.update(
        status=Status.SENDING, claimed_at=long_ago, attempts=1
    )
    delivery = WebhookDelivery.objects.get()
    # when
    due = webhook_deliveries_due_send()
    status = webhook_delivery_send(delivery_id=delivery.pk)
    # then
    assert due == 1 and status == Status.SUCCEEDED
    assert receiver.requests[0].headers["X-Webhook-Id"] == str(delivery.delivery_id)
    delivery.refresh_from_db()
    assert delivery.attempts == 2


def test_a_fresh_claim_is_not_taken_over(section, receiver, make_endpoint):
    # given: a delivery another sender claimed a moment ago
    make_endpoint(receiver.url, "page.published")
    ArticlePageFactory(section=section)
    WebhookDelivery.objects.update(status=Status.SENDING, claimed_at=timezone.now())
    delivery = WebhookDelivery.objects.get()
    # when
    status = webhook_delivery_send(delivery_id=delivery.pk)
    # then
    assert status == Status.SENDING
    assert receiver.requests == [] and webhook_deliveries_due_send() == 0


def test_unpublish_and_delete_are_events_too(section, receiver, make_endpoint):
    # given
    make_endpoint(receiver.url, "page.unpublished", "page.deleted")
    article = ArticlePageFactory(section=section, title="Short-lived")
    # when
    article.unpublish()
    article.delete()
    # then
    events = list(
        WebhookDelivery.objects.order_by("pk").values_list("event", "payload")
    )
    assert [event for event, _ in events] == ["page.unpublished", "page.deleted"]
    assert all(payload["data"]["id"] == article.pk for _, payload in events)
    assert events[1][1]["data"]["title"] == "Short-lived"


def test_a_finished_generation_job_is_a_draft_ready_for_review_event(
    library, receiver, make_endpoint
):
    # given
    make_endpoint(receiver.url, "draft.ready_for_review")
    brief = brief_create(topic="Sleep", section=library.section, keywords=["naps"])
    job = brief_submit(brief=brief, enqueue=False)
    # when
    generation_job_run(job_id=job.pk)
    # then: one event, naming the draft and where to review it
    job.refresh_from_db()
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "draft.ready_for_review"
    data = delivery.payload["data"]
    assert (data["job"], data["page"], data["kind"]) == (job.pk, job.page_id, "draft")
    assert data["title"] == ArticlePage.objects.get(pk=job.page_id).title
    assert data["review_url"].endswith(f"/admin/pages/{job.page_id}/edit/")


def test_a_promotion_is_an_event(receiver, make_endpoint):
    # given
    make_endpoint(receiver.url, "model.promoted")
    version = ModelVersion.objects.create(
        algorithm="als", status=ModelVersion.Status.TRAINING, events_count=42
    )
    # when
    model_version_promote(version=version)
    # then
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "model.promoted"
    assert delivery.payload["data"]["model_version"] == version.pk
    assert delivery.payload["data"]["events"] == 42


def test_a_private_target_is_refused_when_private_targets_are_off(
    section, receiver, make_endpoint, settings
):
    # given: production's default
    settings.WEBHOOK_ALLOW_PRIVATE = False
    make_endpoint(receiver.url, "page.published")
    ArticlePageFactory(section=section)
    delivery = WebhookDelivery.objects.get()
    # when
    webhook_delivery_send(delivery_id=delivery.pk)
    # then: nothing left the process
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert "private address" in delivery.last_error


def test_webhook_test_command_sends_a_signed_ping(receiver, make_endpoint, capsys):
    # given
    endpoint = make_endpoint(receiver.url, "page.published")
    # when
    call_command("webhook_test", str(endpoint.pk))
    # then
    (request,) = receiver.requests
    assert request.headers["X-Webhook-Event"] == "ping"
    assert request.signed_by(SECRET)
    assert request.json["data"]["endpoint"] == endpoint.pk
    assert "HTTP 200" in capsys.readouterr().out
    ping = WebhookDelivery.objects.get()
    assert (ping.event, ping.status, ping.attempts) == ("ping", Status.SUCCEEDED, 1)


def test_webhook_test_command_fails_with_one_line(receiver, make_endpoint):
    # given
    endpoint = make_endpoint(receiver.url, "page.published")
    receiver.statuses = [500]
    # when / then
    with pytest.raises(CommandError, match="HTTP 500"):
        call_command("webhook_test", str(endpoint.pk))
    with pytest.raises(CommandError, match="No webhook endpoint with id 999"):
        call_command("webhook_test", "999")
    # and a failed ping is logged, never retried
    assert WebhookDelivery.objects.get().status == Status.FAILED
    assert webhook_deliveries_due_send() == 0


def test_the_sweep_schedule_is_one_row_however_often_it_is_ensured():
    # given: migrate made it; a race left a duplicate
    Schedule.objects.create(name=SWEEP_SCHEDULE_NAME, func="x", schedule_type="I")
    # when
    sweep_schedule_ensure()
    sweep_schedule_ensure()
    # then
    (schedule,) = Schedule.objects.filter(name=SWEEP_SCHEDULE_NAME)
    assert schedule.func == "cms.webhooks.tasks.webhook_deliveries_sweep_task"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 1)

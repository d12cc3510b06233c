"""Real django-q2 workers deliver webhooks: fast, retried, and across a restart."""

import signal
import time

import pytest
from django.contrib.auth.models import Group
from django_q.tasks import async_task

from cms.models import ArticlePage
from cms.webhooks.models import WebhookDelivery
from cms.webhooks.schedules import SWEEP_TASK
from generation.services import brief_create, brief_submit, generation_job_run
from tests.cms.webhooks.conftest import SECRET
from tests.factories import ArticlePageFactory
from tests.workers import cluster_start, cluster_stop

pytestmark = pytest.mark.slow


@pytest.fixture
def editor(transactional_db, django_user_model):
    """An Editor; the group comes back first if a flush removed it."""
    group, _ = Group.objects.get_or_create(name="Editors")
    user = django_user_model.objects.create_user(username="ada", password="x")
    user.groups.add(group)
    return user


def _ai_draft_in_review(library) -> ArticlePage:
    brief = brief_create(topic="Sleep", section=library.section, keywords=["naps"])
    job = brief_submit(brief=brief, enqueue=False)
    generation_job_run(job_id=job.pk)
    job.refresh_from_db()
    return ArticlePage.objects.get(pk=job.page_id)


def _approve(page: ArticlePage, editor) -> None:
    """What the admin's "Approve" action of the AI review task does."""
    task_state = page.current_workflow_task_state
    task_state.task.specific.on_action(task_state, editor, "approve")


def _warm(settings, receiver, make_endpoint, library):
    """A started cluster, proven to be consuming: it has delivered one ping-like
    publish of a warm-up article (then forgotten by the test)."""
    cluster = cluster_start(settings)
    warm_up = make_endpoint(receiver.url, "page.published")
    ArticlePageFactory(section=library.section, title="Warm-up")
    if not receiver.wait_for(1, seconds=90):
        cluster_stop(cluster)
        raise TimeoutError("the worker delivered nothing within 90 s")
    warm_up.delete()
    receiver.requests.clear()
    return cluster


def test_approving_an_ai_draft_delivers_a_signed_page_published_within_seconds(
    library_committed, editor, receiver, make_endpoint, settings
):
    # given: a running worker, an endpoint for publishes, a draft in AI review
    page = _ai_draft_in_review(library_committed)
    cluster = _warm(settings, receiver, make_endpoint, library_committed)
    try:
        make_endpoint(receiver.url, "page.published")
        # when: an Editor approves it
        approved_at = time.monotonic()
        _approve(page, editor)
        requests = receiver.wait_for(1, seconds=30)
    finally:
        cluster_stop(cluster)
    # then: one signed page.published for that page, seconds after approval
    page.refresh_from_db()
    assert page.live
    deliveries = list(WebhookDelivery.objects.values("event", "status", "last_error"))
    assert len(requests) == 1, deliveries
    (request,) = requests
    latency = request.at - approved_at
    print(f"approve -> webhook received: {latency:.2f} s")
    # The target is 5 s (about 1 s on a quiet machine); the bound leaves room
    # for a loaded CI machine: a timed test must not fail on load alone.
    assert latency < 15, deliveries
    assert request.signed_by(SECRET)
    assert request.headers["X-Webhook-Event"] == "page.published"
    body = request.json
    assert body["event"] == "page.published"
    assert body["data"]["id"] == page.pk and body["data"]["live"] is True
    delivery = WebhookDelivery.objects.get(event="page.published")
    assert request.headers["X-Webhook-Id"] == str(delivery.delivery_id)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


def test_a_receiver_failing_twice_gets_it_from_the_worker_on_the_third_try(
    library_committed, receiver, make_endpoint, settings
):
    # given: a worker whose retries are a second apart, a receiver down twice
    cluster = cluster_start(settings, WEBHOOK_RETRY_BASE_SECONDS="0.5")
    receiver.statuses = [500, 502]
    make_endpoint(receiver.url, "page.published")
    try:
        # when: an article is published, and the sweep runs as its schedule
        # would (every minute in production; here whenever a retry is due)
        article = ArticlePageFactory(section=library_committed.section)
        deadline = time.monotonic() + 90
        while len(receiver.requests) < 3 and time.monotonic() < deadline:
            delivery = WebhookDelivery.objects.get()
            if delivery.status == WebhookDelivery.Status.PENDING and delivery.attempts:
                async_task(SWEEP_TASK)
            time.sleep(0.6)
    finally:
        cluster_stop(cluster)
    # then: three tries of one delivery, the third one delivered
    delivery = WebhookDelivery.objects.get()
    assert len(receiver.requests) == 3, delivery.last_error
    assert {r.headers["X-Webhook-Id"] for r in receiver.requests} == {
        str(delivery.delivery_id)
    }
    assert all(r.signed_by(SECRET) for r in receiver.requests)
    assert receiver.requests[2].json["data"]["id"] == article.pk
    first, second, third = (request.at for request in receiver.requests)
    assert second - first >= 0.5 and third - second >= 1.5  # backoff x3
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert (delivery.attempts, delivery.last_status_code) == (3, 200)


def test_a_delivery_survives_a_worker_restart_and_is_sent_once(
    library_committed, editor, receiver, make_endpoint, settings
):
    # given: a worker that is killed before it can deliver
    page = _ai_draft_in_review(library_committed)
    first = _warm(settings, receiver, make_endpoint, library_committed)
    make_endpoint(receiver.url, "page.published")
    cluster_stop(first, signal.SIGKILL)
    # when: the draft is approved while no worker runs, then a new one starts
    _approve(page, editor)
    time.sleep(1)
    assert receiver.requests == []
    second = cluster_start(settings)
    try:
        receiver.wait_for(1, seconds=90)
        # a sweep after delivery finds nothing left to send
        async_task(SWEEP_TASK)
        time.sleep(3)
    finally:
        cluster_stop(second)
    # then: delivered once
    (request,) = receiver.requests
    assert request.signed_by(SECRET)
    assert request.json["data"]["id"] == page.pk
    delivery = WebhookDelivery.objects.get(event="page.published")
    assert (delivery.status, delivery.attempts) == (
        WebhookDelivery.Status.SUCCEEDED,
        1,
    )

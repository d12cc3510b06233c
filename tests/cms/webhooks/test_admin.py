"""Editors register webhook endpoints in the admin and read the delivery log."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from cms.webhooks.models import WebhookDelivery, WebhookEndpoint
from cms.webhooks.services import webhook_delivery_send
from tests.factories import ArticlePageFactory, SectionPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="grace", password="x")
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    client.user = user
    return client


def test_an_editor_registers_an_endpoint_with_its_events(editor_client, receiver):
    # given
    add_url = reverse("webhook_endpoints:add")
    form = editor_client.get(add_url)
    assert form.status_code == 200
    assert b"AI draft ready for review" in form.content
    # when
    response = editor_client.post(
        add_url,
        {
            "url": receiver.url,
            "description": "Static site rebuild",
            "events": ["page.published", "page.unpublished"],
            "secret": "a-long-shared-secret",
            "active": "on",
        },
    )
    # then
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["page.published", "page.unpublished"]
    assert endpoint.created_by == editor_client.user
    listing = editor_client.get(reverse("webhook_endpoints:index"))
    assert b"Static site rebuild" in listing.content


def test_a_url_that_is_not_http_is_refused_with_a_message(editor_client):
    # when
    response = editor_client.post(
        reverse("webhook_endpoints:add"),
        {"url": "ftp://example.com/hook", "events": ["page.published"], "secret": "s"},
    )
    # then
    assert response.status_code == 200
    assert WebhookEndpoint.objects.count() == 0
    assert b"must start with http:// or https://" in response.content


def test_the_delivery_log_shows_status_and_response_time_read_only(
    editor_client, receiver
):
    # given: one delivered event
    section = SectionPageFactory()
    WebhookEndpoint.objects.create(
        url=receiver.url, secret="s", events=["page.published"]
    )
    ArticlePageFactory(section=section, title="Logged")
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    # when
    listing = editor_client.get(reverse("webhook_deliveries:index"))
    detail = editor_client.get(
        reverse("webhook_deliveries:inspect", args=[delivery.pk])
    )
    # then
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "page.published" in text and "Delivered" in text
    assert detail.status_code == 200
    assert str(delivery.delivery_id) in detail.content.decode()
    assert f"{delivery.last_response_ms}" in detail.content.decode()
    # and nobody adds or edits a delivery by hand
    assert editor_client.get(reverse("webhook_deliveries:add")).status_code == 302
    edit = reverse("webhook_deliveries:edit", args=[delivery.pk])
    assert editor_client.get(edit).status_code == 302
    assert b'href="' + reverse("webhook_deliveries:add").encode() not in (
        listing.content
    )

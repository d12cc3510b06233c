"""Webhook endpoints registered by editors, and every delivery made to them."""

import secrets
import uuid

from django.conf import settings
from django.db import models

from cms.webhooks.events import WebhookEvent


def secret_generate() -> str:
    return secrets.token_hex(32)


class WebhookEndpoint(models.Model):
    url = models.URLField(
        "URL",
        max_length=500,
        help_text="Where events are POSTed (http or https).",
    )
    description = models.CharField(max_length=255, blank=True)
    secret = models.CharField(
        max_length=128,
        default=secret_generate,
        help_text=(
            "Shared secret of the HMAC-SHA256 signature in X-Webhook-Signature. "
            "Copy it to the receiver; change it to rotate."
        ),
    )
    events = models.JSONField(
        default=list,
        help_text="The events sent to this endpoint.",
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["url"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def events_display(self) -> str:
        labels = dict(WebhookEvent.choices)
        return ", ".join(labels.get(event, event) for event in self.events)


class WebhookDelivery(models.Model):
    """One event for one endpoint: the body is fixed, attempts are counted."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id} ({self.delivery_id})"

"""Webhooks: signed, retried, logged notifications of content and model events."""

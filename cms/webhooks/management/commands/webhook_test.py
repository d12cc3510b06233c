"""`manage.py webhook_test <id>`: send a signed ping to one endpoint now."""

from django.core.management.base import BaseCommand, CommandError

from cms.webhooks.models import WebhookDelivery, WebhookEndpoint
from cms.webhooks.services import webhook_endpoint_ping


class Command(BaseCommand):
    help = (
        "Send a signed 'ping' event to the webhook endpoint with this id, now, and "
        "print the status code and response time. Exit 1 if it was not a 2xx."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("endpoint_id", type=int, help="The endpoint's id (admin).")

    def handle(self, *args, endpoint_id: int, **options) -> None:
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
        if endpoint is None:
            raise CommandError(f"No webhook endpoint with id {endpoint_id}.")
        delivery = webhook_endpoint_ping(endpoint=endpoint)
        summary = (
            f"ping {delivery.delivery_id} to {endpoint.url}: "
            f"HTTP {delivery.last_status_code or '-'} in {delivery.last_response_ms} ms"
        )
        if delivery.status != WebhookDelivery.Status.SUCCEEDED:
            raise CommandError(f"{summary}: {delivery.last_error}")
        self.stdout.write(summary)

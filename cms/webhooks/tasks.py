"""django-q2 tasks of the webhooks app: thin, id-taking, safe to run twice."""

from cms.webhooks.services import webhook_deliveries_due_send, webhook_delivery_send


def webhook_delivery_send_task(delivery_id: int) -> str:
    return webhook_delivery_send(delivery_id=delivery_id)


def webhook_deliveries_sweep_task() -> int:
    return webhook_deliveries_due_send()

"""Figures as the generation admin pages print them."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def cost(value) -> str:
    """A cost estimate with its currency ("USD 0.0123"); "—" when unknown.

    The per-token prices (GENERATION_COST_PER_*) are in
    GENERATION_COST_CURRENCY; a bare "0.0000" read as a missing figure.
    """
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return "—"
    currency = getattr(settings, "GENERATION_COST_CURRENCY", "USD")
    return f"{currency} {amount:.4f}"

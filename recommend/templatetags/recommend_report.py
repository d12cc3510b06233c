"""Figures as the performance report prints them."""

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """A rate as a percentage with one decimal ("2.7 %"); "—" without one.

    One decimal matters: feed CTRs sit around a few percent, where whole
    percents would print 3 % for anything from 2.5 to 3.4.
    """
    if value is None:
        return "—"
    return f"{value * 100:.1f} %"

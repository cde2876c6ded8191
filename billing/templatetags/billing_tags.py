"""`{% load billing_tags %}`: money formatting and the purchase history partial."""

from typing import Any

from django import template

from billing.selectors import purchases_for_user

register = template.Library()

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}


@register.filter
def money(cents: int, currency: str = "USD") -> str:
    """400, "USD" -> "$4.00"."""
    whole, rest = divmod(int(cents), 100)
    symbol = SYMBOLS.get(currency)
    amount = f"{whole:,}.{rest:02d}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


@register.filter
def cents_per_credit(pack: Any) -> str:
    """The price of one credit in a pack, in cents: "16¢" or "16.7¢"."""
    each = round(pack.price_cents / pack.credits, 1)
    text = f"{each:.1f}".removesuffix(".0")
    return f"{text}¢" if pack.currency == "USD" else f"{text} cents"


@register.inclusion_tag("billing/_purchase_history.html")
def purchase_history(user: Any) -> dict[str, Any]:
    """The user's purchases: pack, credits, amount, date and status."""
    purchases = purchases_for_user(user) if user.is_authenticated else []
    return {"purchases": purchases}

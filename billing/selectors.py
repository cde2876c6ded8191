"""Reads shared by the billing pages, the account page and the CMS pricing page."""

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import CreditPack, Purchase

if TYPE_CHECKING:
    from accounts.models import User

PURCHASE_HISTORY_LIMIT = 50


def packs_active() -> QuerySet[CreditPack]:
    """The packs on sale, in display order."""
    return CreditPack.objects.filter(active=True).order_by(
        "sort_order", "price_cents", "id"
    )


def purchases_for_user(
    user: "User", *, limit: int = PURCHASE_HISTORY_LIMIT
) -> list[Purchase]:
    """The user's purchases, newest first, with their packs (one query)."""
    return list(
        Purchase.objects.filter(user=user)
        .select_related("pack")
        .order_by("-created_at", "-id")[:limit]
    )

"""RQ entry points for billing: take ids, call one service, return."""

from .purchases import purchases_reconcile


def purchases_reconcile_task() -> dict[str, int]:
    return purchases_reconcile()

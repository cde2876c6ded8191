from datetime import timedelta

import django_rq
import pytest
from django.core.management import call_command
from django.utils import timezone
from rq.cron import CronScheduler

from billing.models import Purchase
from billing.purchases import purchases_reconcile
from billing.services import account_for_user
from billing.tasks import purchases_reconcile_task
from tests.helpers.billing import buy, deliver

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=5)


def test_reconcile_grants_a_paid_purchase_whose_webhook_was_lost(
    buyer_client, user, square
):
    purchase = buy(buyer_client, 100)
    events = square.pay(purchase.square_order_id)  # the webhooks never arrive
    assert purchases_reconcile()["checked"] == 0  # too young: the webhook may come
    counts = purchases_reconcile(now=timezone.now() + LATER)
    assert counts == {"checked": 1, "granted": 1, "abandoned": 0, "errors": 0}
    assert account_for_user(user).balance == 103
    for event in events:  # ... and when they finally arrive, nothing more
        deliver(buyer_client, square, event)
    assert purchases_reconcile(now=timezone.now() + LATER)["checked"] == 0
    assert account_for_user(user).balance == 103
    call_command("check_ledger")


def test_reconcile_leaves_unpaid_purchases_pending_then_abandons_them(
    buyer_client, user, square
):
    purchase = buy(buyer_client, 5)
    counts = purchases_reconcile(now=timezone.now() + LATER)
    assert counts["checked"] == 1 and counts["granted"] == 0
    assert Purchase.objects.get(pk=purchase.pk).status == "pending"
    counts = purchases_reconcile(now=timezone.now() + timedelta(hours=25))
    assert counts["abandoned"] == 1
    assert Purchase.objects.get(pk=purchase.pk).status == "failed"


def test_a_late_payment_of_an_abandoned_purchase_still_grants(
    buyer_client, user, square
):
    purchase = buy(buyer_client, 5)
    purchases_reconcile(now=timezone.now() + timedelta(hours=25))
    for event in square.pay(purchase.square_order_id):
        deliver(buyer_client, square, event)
    assert Purchase.objects.get(pk=purchase.pk).status == "completed"
    assert account_for_user(user).balance == 8


def test_reconcile_survives_square_errors(buyer_client, user, square):
    first = buy(buyer_client, 5)
    second = buy(buyer_client, 25)
    square.pay(first.square_order_id)
    square.pay(second.square_order_id)
    square.fail_next(3, status=500, path=f"/v2/orders/{first.square_order_id}")
    counts = purchases_reconcile(now=timezone.now() + LATER)
    assert counts == {"checked": 2, "granted": 1, "abandoned": 0, "errors": 1}
    assert Purchase.objects.get(pk=first.pk).status == "pending"
    assert purchases_reconcile(now=timezone.now() + LATER)["granted"] == 1
    assert account_for_user(user).balance == 3 + 5 + 25


def test_reconcile_does_nothing_without_square(user, settings):
    assert purchases_reconcile_task() == {
        "checked": 0,
        "granted": 0,
        "abandoned": 0,
        "errors": 0,
    }


def test_the_reconcile_task_is_on_the_cron():
    scheduler = CronScheduler(connection=django_rq.get_connection("default"))
    scheduler.load_config_from_file("config.cron")
    intervals = {
        job.func: job.interval
        for job in scheduler.get_jobs()
        if job.func is purchases_reconcile_task
    }
    assert intervals == {purchases_reconcile_task: 120}

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from accounts.services import user_signed_up
from billing.models import CreditAccount, CreditEntry
from billing.services import (
    InsufficientCredits,
    account_for_user,
    credits_adjust,
    credits_debit,
    credits_refund,
    ledger_mismatches,
)
from jobs.models import Job
from tests.factories import UserFactory
from tests.helpers.races import race

pytestmark = pytest.mark.django_db


def _job(user) -> Job:
    return Job.objects.create(
        user=user, original_filename="a.wav", input_extension="wav", model="htdemucs"
    )


def test_signup_bonus_is_granted_once(user):
    user_signed_up(user=user)  # a second signal must not mint more
    account = CreditAccount.objects.get(user=user)
    assert account.balance == 3
    assert account.entries.filter(kind="signup_bonus").count() == 1


def test_debit_takes_one_credit_and_records_the_job(user):
    job = _job(user)
    credits_debit(user=user, amount=1, job=job)
    assert CreditAccount.objects.get(user=user).balance == 2
    entry = CreditEntry.objects.get(job=job)
    assert (entry.kind, entry.delta) == ("job_debit", -1)


def test_debit_refuses_an_empty_balance():
    person = UserFactory()
    with pytest.raises(InsufficientCredits) as refused:
        credits_debit(user=person, amount=1, job=_job(person))
    assert refused.value.status_code == 402
    assert account_for_user(person).balance == 0


def test_refund_is_idempotent(user):
    job = _job(user)
    credits_debit(user=user, amount=1, job=job)
    assert credits_refund(job=job) is not None
    assert credits_refund(job=job) is None
    assert CreditAccount.objects.get(user=user).balance == 3
    assert CreditEntry.objects.filter(job=job, kind="job_refund").count() == 1


def test_refund_without_debit_gives_nothing(user):
    assert credits_refund(job=_job(user)) is None
    assert CreditAccount.objects.get(user=user).balance == 3


def test_the_database_refuses_a_negative_balance(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.filter(user=user).update(balance=-1)


def test_adjustment_needs_a_reason_and_cannot_overdraw(user):
    credits_adjust(user=user, delta=5, note="goodwill")
    assert CreditAccount.objects.get(user=user).balance == 8
    with pytest.raises(InsufficientCredits):
        credits_adjust(user=user, delta=-9, note="oops")
    assert CreditAccount.objects.get(user=user).balance == 8


def test_check_ledger_finds_a_tampered_balance(user):
    call_command("check_ledger")
    CreditAccount.objects.filter(user=user).update(balance=7)
    assert len(ledger_mismatches()) == 1
    with pytest.raises(CommandError):
        call_command("check_ledger")


def test_grant_credits_command(user, capsys):
    call_command("grant_credits", user.email, "5")
    assert "now has 8 credits" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("grant_credits", "nobody@example.com", "5")


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_overdraw():
    person = UserFactory()
    credits_adjust(user=person, delta=1, note="one credit")
    jobs = [_job(person), _job(person)]

    def debit(job: Job) -> str:
        try:
            credits_debit(user=person, amount=1, job=job)
        except InsufficientCredits:
            return "refused"
        return "ok"

    outcomes = race(debit, jobs)
    assert sorted(outcomes) == ["ok", "refused"]
    assert CreditAccount.objects.get(user=person).balance == 0
    assert not ledger_mismatches()

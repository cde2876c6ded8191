"""Idempotency-Key on POST /api/v1/jobs/: a retry is answered, not charged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.services import account_for_user
from jobs.models import Job, JobSubmission
from tests.helpers.api import post_jobs, token_client, upload
from tests.helpers.races import race
from tests.helpers.stored import shared_files

pytestmark = pytest.mark.django_db


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [job["id"] for job in response.json()]


def test_a_retry_with_the_same_key_returns_the_same_jobs(api, user, wav):
    key = {"Idempotency-Key": "batch-1"}
    files = ("a.wav", "b.wav")
    first = post_jobs(api, *[upload(wav, n) for n in files], headers=key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = post_jobs(api, *[upload(wav, n) for n in files], headers=key)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert _ids(again) == _ids(first)
    assert Job.objects.count() == 2
    assert account_for_user(user).balance == 1
    # Nothing from the retry stays on disk: only the two jobs' uploads.
    assert len(shared_files()) == 2


def test_a_new_key_or_no_key_creates_new_jobs(api, user, wav):
    post_jobs(api, upload(wav), headers={"Idempotency-Key": "one"})
    post_jobs(api, upload(wav), headers={"Idempotency-Key": "two"})
    post_jobs(api, upload(wav))
    assert Job.objects.count() == 3
    assert account_for_user(user).balance == 0


def test_a_key_reused_for_another_request_is_422(api, user, wav):
    key = {"Idempotency-Key": "k"}
    assert post_jobs(api, upload(wav, "a.wav"), headers=key).status_code == 201
    for changed in (
        post_jobs(api, upload(wav, "b.wav"), headers=key),
        post_jobs(api, upload(wav, "a.wav"), headers=key, model="htdemucs_6s"),
        post_jobs(api, upload(wav, "a.wav"), upload(wav, "c.wav"), headers=key),
    ):
        assert changed.status_code == 422
        assert changed.json()["code"] == "idempotency_key_reused"
    assert Job.objects.count() == 1
    assert account_for_user(user).balance == 2


def test_keys_belong_to_one_person(api, other_api, user, other_user, wav):
    key = {"Idempotency-Key": "shared-name"}
    mine = post_jobs(api, upload(wav), headers=key)
    theirs = post_jobs(other_api, upload(wav), headers=key)
    assert theirs.status_code == 201
    assert _ids(theirs) != _ids(mine)
    assert account_for_user(other_user).balance == 2


def test_a_refused_request_can_be_retried_with_its_key(api, user, wav):
    key = {"Idempotency-Key": "after-topup"}
    files = [upload(wav, f"{i}.wav") for i in range(4)]
    assert post_jobs(api, *files, headers=key).status_code == 402
    assert not JobSubmission.objects.exists()
    assert post_jobs(api, upload(wav), headers=key).status_code == 201


def test_an_old_key_counts_as_new(api, user, wav, settings):
    key = {"Idempotency-Key": "yesterday"}
    first = post_jobs(api, upload(wav), headers=key)
    JobSubmission.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS + 1)
    )
    again = post_jobs(api, upload(wav), headers=key)
    assert again.status_code == 201
    assert _ids(again) != _ids(first)
    assert JobSubmission.objects.count() == 1  # the stale record was replaced


def test_deleted_jobs_are_left_out_of_a_replay(api, user, wav):
    key = {"Idempotency-Key": "then-deleted"}
    files = ("a.wav", "b.wav")
    first = _ids(post_jobs(api, *[upload(wav, n) for n in files], headers=key))
    api.delete(f"/api/v1/jobs/{first[0]}/")
    again = post_jobs(api, *[upload(wav, n) for n in files], headers=key)
    assert _ids(again) == first[1:]
    assert account_for_user(user).balance == 2  # one refunded, none charged again


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_an_unusable_key_is_400(api, wav, key):
    response = post_jobs(api, upload(wav), headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_charge_once(user, wav):
    clients = [token_client(user) for _ in range(4)]

    def send(client) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
        response = post_jobs(
            client,
            upload(wav, "a.wav"),
            upload(wav, "b.wav"),
            headers={"Idempotency-Key": "race"},
        )
        return response.status_code, _ids(response)

    answers = race(send, clients)
    assert [status for status, _ in answers] == [201] * len(clients)
    assert len({tuple(ids) for _, ids in answers}) == 1
    assert Job.objects.count() == 2
    assert account_for_user(user).balance == 1
    assert JobSubmission.objects.count() == 1

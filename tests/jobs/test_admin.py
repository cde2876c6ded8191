"""Jobs in the Django admin: nothing added or edited by hand; cancelling and
deleting go through the lifecycle (credits refunded, files removed)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing.models import CreditEntry
from billing.services import account_for_user
from jobs.models import Job, Stem
from tests.helpers.accounts import signed_up_user
from tests.helpers.jobs import finished_job, submit, upload
from tests.helpers.stored import shared_files

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:jobs_job_changelist")


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(signed_up_user(is_staff=True, is_superuser=True))
    return client


def act(staff_client: Client, action: str, *jobs: Job, **extra: str):  # type: ignore[no-untyped-def]
    return staff_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(j.pk) for j in jobs], **extra},
        follow=True,
    )


def test_jobs_cannot_be_added_by_hand(staff_client: Client) -> None:
    assert staff_client.get(reverse("admin:jobs_job_add")).status_code == 403
    assert staff_client.post(reverse("admin:jobs_job_add"), {}).status_code == 403
    changelist = staff_client.get(CHANGELIST).content.decode()
    assert reverse("admin:jobs_job_add") not in changelist
    assert not Job.objects.exists()


def test_the_change_page_is_read_only(staff_client: Client, user: User) -> None:
    job = finished_job(user, original_filename="Kept.wav")
    url = reverse("admin:jobs_job_change", args=[job.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert 'name="original_filename"' not in html and 'name="status"' not in html
    assert "vocals" in html and 'name="stems-0-name"' not in html  # stems listed
    refused = staff_client.post(
        url, {"original_filename": "Changed.wav", "status": "failed"}
    )
    assert refused.status_code == 403
    job.refresh_from_db()
    assert (job.original_filename, job.status) == ("Kept.wav", Job.Status.SUCCEEDED)


def test_cancelling_refunds_active_jobs_and_leaves_ended_ones(
    staff_client: Client, user: User, wav: bytes
) -> None:
    [queued] = submit(user, upload(wav))
    done = finished_job(user)
    assert account_for_user(user).balance == 2
    response = act(staff_client, "cancel_jobs", queued, done)
    html = response.content.decode()
    assert "Cancelled 1 job(s) and refunded their credits." in html
    assert "1 job(s) had already ended" in html
    queued.refresh_from_db()
    done.refresh_from_db()
    assert queued.status == Job.Status.CANCELLED
    assert done.status == Job.Status.SUCCEEDED
    assert account_for_user(user).balance == 3
    assert CreditEntry.objects.filter(job=queued, kind="job_refund").count() == 1
    # The upload is gone; the finished job's stems are still there.
    assert shared_files() and all(str(done.pk) in str(p) for p in shared_files())


def test_deleting_removes_files_and_refunds_an_active_job(
    staff_client: Client, user: User, wav: bytes
) -> None:
    [queued] = submit(user, upload(wav))
    done = finished_job(user)
    assert shared_files()
    confirm = act(staff_client, "delete_selected", queued, done)
    assert confirm.status_code == 200 and b"Are you sure" in confirm.content
    response = act(staff_client, "delete_selected", queued, done, post="yes")
    assert response.status_code == 200
    assert not Job.objects.exists() and not Stem.objects.exists()
    assert shared_files() == []
    # The queued job was cancelled, and its credit refunded, before it went.
    assert account_for_user(user).balance == 3
    assert CreditEntry.objects.filter(kind="job_refund").count() == 1


def test_the_delete_page_goes_through_the_service(
    staff_client: Client, user: User
) -> None:
    job = finished_job(user)
    assert shared_files()
    url = reverse("admin:jobs_job_delete", args=[job.pk])
    assert staff_client.get(url).status_code == 200
    assert staff_client.post(url, {"post": "yes"}).status_code == 302
    assert not Job.objects.exists()
    assert shared_files() == []
    # A job that ended has nothing to refund.
    assert not CreditEntry.objects.filter(kind="job_refund").exists()


def test_cancelling_needs_the_change_permission(client: Client, user: User) -> None:
    from django.contrib.auth.models import Permission

    viewer = signed_up_user(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(viewer)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert b"cancel_jobs" not in page.content

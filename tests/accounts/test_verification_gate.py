"""No separation before the email address is verified, on the site and the API."""

import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import EmailNotVerified
from jobs.intake.admission import jobs_submit
from jobs.models import Job
from tests.factories import UserFactory
from tests.helpers.audio import song_bytes
from tests.helpers.stored import shared_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def unverified_user(db):  # type: ignore[no-untyped-def]
    from accounts.services import user_signed_up

    person = UserFactory()
    EmailAddress.objects.create(
        user=person, email=person.email, primary=True, verified=False
    )
    user_signed_up(user=person)
    return person


def upload(tmp_path, name: str = "Song.wav") -> SimpleUploadedFile:  # type: ignore[no-untyped-def]
    return SimpleUploadedFile(name, song_bytes(tmp_path, seconds=1.0))


def test_the_service_refuses_an_unverified_address_before_touching_files(
    unverified_user, tmp_path
):
    with pytest.raises(EmailNotVerified) as refused:
        jobs_submit(user=unverified_user, uploads=[upload(tmp_path)], model="htdemucs")
    assert refused.value.status_code == 403
    assert refused.value.code == "email_unverified"
    assert unverified_user.email in refused.value.message
    assert not Job.objects.exists()
    assert shared_files() == []


def test_the_site_explains_and_offers_a_new_link(client, unverified_user, tmp_path):
    client.force_login(unverified_user)
    response = client.post(
        reverse("jobs:upload"),
        {"songs": [upload(tmp_path)], "model": "htdemucs", "output_format": "mp3"},
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "Please verify your email address before separating songs" in page
    # The resend button, on every page.
    assert f'action="{reverse("accounts:verification_resend")}"' in page
    assert "Resend the link" in page
    assert not Job.objects.exists()


def test_the_resend_button_mails_a_new_link(client, unverified_user, mailoutbox):
    client.force_login(unverified_user)
    response = client.post(
        reverse("account_email"),
        {"action_send": "", "email": unverified_user.email},
    )
    assert response.status_code == 302
    assert mailoutbox[-1].to == [unverified_user.email]
    assert "/accounts/confirm-email/" in mailoutbox[-1].body


def test_the_api_answers_403_with_a_code(unverified_user, tmp_path):
    client = APIClient()
    client.force_authenticate(unverified_user)
    response = client.post(
        "/api/v1/jobs/",
        {"file": upload(tmp_path), "model": "htdemucs"},
        format="multipart",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "email_unverified"
    assert not Job.objects.exists()


def test_a_verified_person_sees_no_notice(client, user):
    client.force_login(user)
    page = client.get(reverse("jobs:dashboard")).content.decode()
    assert "Verify your email address" not in page

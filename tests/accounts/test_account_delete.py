"""Closing an account: behind re-authentication, and nothing of theirs is left."""

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ApiToken, BonusAddress, User
from accounts.services import (
    api_token_create,
    email_hash,
    email_normalize,
    user_signed_up,
)
from billing.models import CreditAccount, CreditEntry, CreditPack, Purchase
from billing.services import account_for_user
from closure.services import account_close
from jobs import storage
from jobs.intake.admission import jobs_submit
from jobs.models import Job, Stem
from tests.factories import UserFactory
from tests.helpers.accounts import PASSWORD
from tests.helpers.audio import song_bytes
from tests.helpers.jobs import finished_job
from tests.helpers.stored import is_stored, shared_files

pytestmark = pytest.mark.django_db


def person_with_everything(user, tmp_path):  # type: ignore[no-untyped-def]
    """Jobs (finished with stems on disk, and queued), a token, GitHub, a purchase."""
    done = finished_job(user)
    upload = SimpleUploadedFile("Queued.wav", song_bytes(tmp_path, seconds=1.0))
    queued = jobs_submit(user=user, uploads=[upload], model="htdemucs")[0]
    api_token_create(user=user, name="script")
    SocialAccount.objects.create(user=user, provider="github", uid="777")
    pack = CreditPack.objects.create(name="Test pack", credits=5, price_cents=100)
    purchase = Purchase.objects.create(
        user=user,
        pack=pack,
        credits=5,
        amount_cents=100,
        currency="USD",
        status=Purchase.Status.COMPLETED,
        idempotency_key=f"test-{user.pk}",
        checkout_url="https://square.link/u/test",
    )
    return done, queued, purchase


def reauthenticate(client, user):  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get(reverse("closure:account_delete"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    response = client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("closure:account_delete")


def test_deleting_an_account_leaves_nothing_of_theirs(
    client, user, other_user, tmp_path
):
    done, queued, purchase = person_with_everything(user, tmp_path)
    theirs = finished_job(other_user)
    their_token, their_secret = api_token_create(user=other_user, name="theirs")
    assert all(is_stored(stem.path) for stem in done.stems.all())
    assert is_stored(storage.canonical_path(queued))
    email, user_id = user.email, user.pk

    reauthenticate(client, user)
    page = client.get(reverse("closure:account_delete")).content.decode()
    for promise in [
        "your 2 jobs",
        "1 still in progress is cancelled first",
        "your 1 API token",
        "GitHub",
        email,
        "forfeited",
        "purchase records",
        "fingerprint of your email address",
    ]:
        assert promise in page, promise

    # Not without the confirmation box.
    assert client.post(reverse("closure:account_delete")).status_code == 400
    assert User.objects.filter(pk=user_id).exists()

    response = client.post(reverse("closure:account_delete"), {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" not in client.session

    # Files: the stems, the queued upload, their folders.
    left = {str(path) for path in shared_files()}
    assert not any(str(done.pk) in path or str(queued.pk) in path for path in left)
    assert not storage.output_dir(done).exists()
    assert not storage.upload_dir(queued).exists()
    # Rows.
    assert not User.objects.filter(pk=user_id).exists()
    assert not Job.objects.filter(user_id=user_id).exists()
    assert not Stem.objects.filter(job_id=done.pk).exists()
    assert not ApiToken.objects.filter(user_id=user_id).exists()
    assert not SocialAccount.objects.filter(user_id=user_id).exists()
    assert not EmailAddress.objects.filter(user_id=user_id).exists()
    assert not CreditAccount.objects.filter(user_id=user_id).exists()
    assert not EmailAddress.objects.filter(email=email).exists()
    # Purchases stay, anonymised.
    purchase.refresh_from_db()
    assert purchase.user is None and purchase.checkout_url == ""
    assert purchase.amount_cents == 100
    # Only a keyed hash of the address is kept.
    assert BonusAddress.objects.filter(email_hash=email_hash(email)).exists()
    assert not any(
        email in kept
        for kept in BonusAddress.objects.values_list("email_hash", flat=True)
    )
    # Another person is untouched.
    theirs.refresh_from_db()
    assert all(is_stored(stem.path) for stem in theirs.stems.all())
    assert ApiToken.objects.filter(pk=their_token.pk).exists()
    assert account_for_user(other_user).balance == 3


def test_a_returning_address_gets_no_new_bonus(client, user):
    email = user.email
    account_close(user=user)
    response = client.post(
        reverse("account_signup"),
        {"email": email.upper(), "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    again = User.objects.get(email__iexact=email)
    assert account_for_user(again).balance == 0
    assert not CreditEntry.objects.filter(account__user=again).exists()
    # A fresh address still gets its credits.
    fresh = UserFactory(email="someone.new@example.com")
    user_signed_up(user=fresh)
    assert account_for_user(fresh).balance == 3


def test_addresses_are_normalised_before_hashing():
    assert email_normalize(" Jo.Doe+music@GoogleMail.com ") == "jodoe@gmail.com"
    assert email_normalize('"Gina"@Example.com') == "gina@example.com"
    assert email_normalize('"gina+x"@example.com') == "gina@example.com"
    assert email_normalize("Jo.Doe+x@example.com") == "jo.doe@example.com"
    assert email_hash("jodoe@gmail.com") == email_hash("J.o.Doe+tag@gmail.com")
    assert email_hash("a@example.com") != email_hash("b@example.com")
    assert len(email_hash("a@example.com")) == 64


def test_the_page_needs_a_fresh_password(client, user):
    client.force_login(user)
    for method in (client.get, client.post):
        response = method(reverse("closure:account_delete"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert User.objects.filter(pk=user.pk).exists()


def test_a_wrong_password_does_not_unlock_deletion(client, user):
    client.force_login(user)
    response = client.post(
        reverse("account_reauthenticate") + "?next=/accounts/delete/",
        {"password": "wrong"},
    )
    assert response.status_code == 200
    assert client.get(reverse("closure:account_delete")).status_code == 302


def test_closing_accounts_records_each_mailbox_once(user, other_user):
    assert BonusAddress.objects.count() == 2  # each signup spent its mailbox
    EmailAddress.objects.create(user=other_user, email="alias@example.com")
    account_close(user=user)
    assert BonusAddress.objects.count() == 2
    # Unverified addresses are not recorded: they may be someone else's.
    account_close(user=other_user)
    assert BonusAddress.objects.count() == 2
    assert not BonusAddress.objects.filter(
        email_hash=email_hash("alias@example.com")
    ).exists()

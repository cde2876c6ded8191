"""The Django admin has one "Accounts" section: people, their email addresses,
their social sign-ins and their API tokens."""

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.helpers.accounts import signed_up_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(signed_up_user(is_staff=True, is_superuser=True))
    return client


def test_the_index_has_one_accounts_section(staff_client: Client) -> None:
    apps = staff_client.get(reverse("admin:index")).context["app_list"]
    about_accounts = [
        app
        for app in apps
        if "account" in app["name"].lower()
        or app["app_label"] in {"account", "socialaccount", "knox"}
    ]
    assert [app["name"] for app in about_accounts] == ["Accounts"]
    [accounts] = about_accounts
    assert accounts["app_label"] == "accounts"
    assert [m["name"] for m in accounts["models"]] == [
        "API tokens",
        "Email addresses",
        "Social sign-ins",
        "Users",
    ]


def test_email_addresses_keep_allauths_admin(staff_client: Client) -> None:
    person = signed_up_user(email="unverified@example.com")
    address = EmailAddress.objects.get(user=person)
    EmailAddress.objects.filter(pk=address.pk).update(verified=False)
    changelist = reverse("admin:accounts_emailaddress_changelist")
    found = staff_client.get(changelist, {"q": "unverified@"})
    assert found.status_code == 200 and found.context["cl"].result_count == 1
    response = staff_client.post(
        changelist,
        {"action": "make_verified", "_selected_action": [str(address.pk)]},
        follow=True,
    )
    assert "Marked unverified@example.com as verified." in response.content.decode()
    address.refresh_from_db()
    assert address.verified
    change = reverse("admin:accounts_emailaddress_change", args=[address.pk])
    assert staff_client.get(change).status_code == 200


def test_social_sign_ins_are_listed_with_their_person(
    staff_client: Client, user: User
) -> None:
    SocialAccount.objects.create(user=user, provider="github", uid="4242")
    page = staff_client.get(
        reverse("admin:accounts_socialaccount_changelist"), {"q": "4242"}
    )
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    assert user.email in page.content.decode()


def test_api_tokens_are_made_by_their_owners_not_here(staff_client: Client) -> None:
    assert staff_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    changelist = staff_client.get(reverse("admin:accounts_apitoken_changelist"))
    assert changelist.status_code == 200

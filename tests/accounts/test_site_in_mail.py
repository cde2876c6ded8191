"""Account mails name our site, never Django's default "example.com"."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.services import site_sync_from_settings

pytestmark = pytest.mark.django_db


def _reset_mail(client, user):  # type: ignore[no-untyped-def]
    mail.outbox.clear()
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    [message] = mail.outbox
    return message


def test_a_password_reset_mail_names_the_site_after_migrate(client, user, settings):
    settings.SITE_URL = "https://stems.example.org"
    call_command("migrate", verbosity=0)  # what make run and compose run first
    message = _reset_mail(client, user)
    assert "example.com" not in message.subject + message.body
    assert message.subject.startswith("[Mux Minus]")
    assert "Mux Minus" in message.body
    assert "stems.example.org" in message.body


def test_the_site_follows_a_changed_site_url(client, user, settings):
    settings.SITE_URL = "https://muxminus.example.net"
    site_sync_from_settings()
    assert "muxminus.example.net" in _reset_mail(client, user).body

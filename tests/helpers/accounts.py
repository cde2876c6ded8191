"""People for the tests: signed up as on the site, and the mail they get."""

import re

from allauth.account.models import EmailAddress
from django.core import mail

from accounts.services import user_signed_up
from billing.services import credits_adjust
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def mail_link(pattern: str, *, to: str | None = None) -> str:
    """The path of the last link matching `pattern` mailed (to `to`, if given)."""
    for message in reversed(mail.outbox):
        if to is not None and to not in message.to:
            continue
        found = re.search(rf"http://testserver({pattern})", message.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no mail with a link matching {pattern}")


def confirmation_link(*, to: str | None = None) -> str:
    return mail_link(r"/accounts/confirm-email/[^/\s]+/", to=to)


def signed_up_user(**fields):  # type: ignore[no-untyped-def]
    """A signed-up user with a verified primary address and the free credits."""
    person = UserFactory(**fields)
    EmailAddress.objects.create(
        user=person, email=person.email, primary=True, verified=True
    )
    user_signed_up(user=person)
    return person


def funded_user(credits: int = 10):  # type: ignore[no-untyped-def]
    """A signed-up user given `credits` more than the free ones."""
    person = signed_up_user()
    credits_adjust(user=person, delta=credits, note="test")
    return person

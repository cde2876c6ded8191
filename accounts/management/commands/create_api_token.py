"""Print a new API token for EMAIL, creating the account if it does not exist."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.models import User
from accounts.services import api_token_create, user_create_verified


class Command(BaseCommand):
    help = (
        "Create an API token for EMAIL (and the account, if absent); "
        "prints the token last."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="Command-line token")

    def handle(self, *args: Any, **options: Any) -> None:
        email = User.objects.normalize_email(options["email"])
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = user_create_verified(email=email)
            self.stderr.write(f"Created account {user.email}.")
        _, secret = api_token_create(user=user, name=options["name"])
        self.stdout.write(secret)

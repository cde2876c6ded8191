from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.services import credits_adjust
from core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Add (or with a negative N, remove) credits for EMAIL, recorded in the ledger."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("credits", type=int)
        parser.add_argument("--reason", default="Granted from the command line")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No account with the email {options['email']}.")
        try:
            credits_adjust(user=user, delta=options["credits"], note=options["reason"])
        except DomainError as error:
            raise CommandError(error.message) from error
        balance = user.credit_account.balance
        self.stdout.write(f"{user.email} now has {balance} credits.")

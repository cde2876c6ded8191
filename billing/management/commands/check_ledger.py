from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.services import ledger_mismatches


class Command(BaseCommand):
    help = "Verify that every balance equals the sum of its ledger entries."

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = ledger_mismatches()
        for account, total in mismatches:
            self.stderr.write(
                f"{account.user}: balance {account.balance}, entries {total}"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} account(s) out of balance.")
        self.stdout.write("Ledger balanced.")

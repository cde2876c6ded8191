"""Django's createsuperuser, making an account people can use at once."""

from typing import Any

from django.contrib.auth.management.commands import createsuperuser

from accounts.models import User
from accounts.services import user_make_operator


class Command(createsuperuser.Command):
    help = (
        "Create a superuser with a verified address and the signup bonus; "
        "sign in at /accounts/login/ to reach /cms/ and /django-admin/."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        newest = User.objects.order_by("-pk").values_list("pk", flat=True).first()
        super().handle(*args, **options)
        made = User.objects.filter(is_superuser=True, pk__gt=newest or 0)
        for user in made:
            user_make_operator(user=user)

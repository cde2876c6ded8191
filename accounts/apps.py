from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the OpenAPI auth extension

        # After every migrate (make run, the compose `migrate` service, tests),
        # so the site's name and domain follow SITE_URL when it changes.
        post_migrate.connect(_site_sync, sender=self)


def _site_sync(**kwargs: Any) -> None:
    from .services import site_sync_from_settings

    site_sync_from_settings()

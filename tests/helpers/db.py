"""The database's baseline, as the data migrations seed it."""

from django.conf import settings


def seed_baseline() -> None:
    """Put back what the data migrations seed (Wagtail's root, locale and home
    page, the site, the credit packs) when a transactional test's flush removed
    it: in this run, or in an earlier one that left a --reuse-db database empty."""
    from importlib import import_module

    from django.apps import apps
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Locale, Page

    from cms.site_content import home_get

    import_module("billing.migrations.0003_seed_credit_packs").seed(apps, None)
    language = get_supported_content_language_variant(settings.LANGUAGE_CODE)
    locale, _ = Locale.objects.get_or_create(language_code=language)
    if not Page.objects.filter(depth=1).exists():
        Page.add_root(instance=Page(title="Root", slug="root", locale=locale))
    home_get()

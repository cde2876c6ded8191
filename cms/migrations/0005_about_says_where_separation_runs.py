"""The About page said songs are split "in your browser": they are split on
our servers. Fixes the seeded words where editors have not changed them."""

from django.db import migrations

OLD = "Mux Minus splits songs into stems, in your browser."
NEW = (
    "Mux Minus splits songs into stems on its servers; you listen to them and "
    "download them in your browser."
)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    ContentPage = apps.get_model("cms", "ContentPage")
    ContentPage.objects.filter(slug="about", intro=OLD).update(intro=NEW)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    ContentPage = apps.get_model("cms", "ContentPage")
    ContentPage.objects.filter(slug="about", intro=NEW).update(intro=OLD)


class Migration(migrations.Migration):
    dependencies = [("cms", "0004_sample_song_source_help")]

    operations = [migrations.RunPython(forwards, backwards)]

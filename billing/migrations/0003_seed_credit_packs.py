from django.db import migrations

PACKS = [
    # name, credits, price in cents, sort order
    ("5 credits", 5, 100, 10),
    ("25 credits", 25, 400, 20),
    ("100 credits", 100, 1500, 30),
]


def seed(apps, schema_editor):
    CreditPack = apps.get_model("billing", "CreditPack")
    for name, credits, price_cents, sort_order in PACKS:
        CreditPack.objects.get_or_create(
            credits=credits,
            price_cents=price_cents,
            currency="USD",
            defaults={"name": name, "sort_order": sort_order, "active": True},
        )


def unseed(apps, schema_editor):
    CreditPack = apps.get_model("billing", "CreditPack")
    for _name, credits, price_cents, _order in PACKS:
        CreditPack.objects.filter(
            credits=credits, price_cents=price_cents, purchases__isnull=True
        ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0002_packs_purchases_webhooks"),
    ]

    operations = [migrations.RunPython(seed, unseed)]

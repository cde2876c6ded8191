from django.db import migrations


def record_live_bonuses(apps, schema_editor):
    """Every address of a live account that had its bonus becomes known too."""
    from accounts.services import email_hash

    CreditEntry = apps.get_model("billing", "CreditEntry")
    EmailAddress = apps.get_model("account", "EmailAddress")
    User = apps.get_model("accounts", "User")
    BonusAddress = apps.get_model("accounts", "BonusAddress")
    paid = CreditEntry.objects.filter(kind="signup_bonus").values_list(
        "account__user_id", flat=True
    )
    for user in User.objects.filter(pk__in=paid):
        addresses = {user.email} | set(
            EmailAddress.objects.filter(user_id=user.pk).values_list("email", flat=True)
        )
        for address in addresses:
            if address:
                BonusAddress.objects.get_or_create(email_hash=email_hash(address))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_closedaccount"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("billing", "0004_refunds_add_up"),
    ]

    operations = [
        migrations.RenameModel("ClosedAccount", "BonusAddress"),
        migrations.RenameField("BonusAddress", "closed_at", "recorded_at"),
        migrations.AlterModelOptions("BonusAddress", options={"ordering": ["-recorded_at"]}),
        migrations.RunPython(record_live_bonuses, migrations.RunPython.noop),
    ]

"""Forms for the account pages that allauth does not provide."""

from datetime import timedelta

from django import forms

EXPIRY_CHOICES = [
    ("", "Never"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What it is for, e.g. “laptop script” or “CI”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expires = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, required=False)

    def expires_in(self) -> timedelta | None:
        days = self.cleaned_data.get("expires")
        return timedelta(days=int(days)) if days else None


class AccountDeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that this deletes my account and everything in it, "
        "and cannot be undone.",
        error_messages={"required": "Tick the box to confirm."},
    )

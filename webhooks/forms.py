"""The account page's webhook form."""

from django import forms

from .models import EventType


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        help_text="An https:// (or http://) address on the internet that "
        "accepts POST requests.",
        widget=forms.URLInput(
            attrs={
                "autocomplete": "off",
                "placeholder": "https://example.com/hooks/mux",
            }
        ),
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=EventType.choices,
        initial=[choice.value for choice in EventType],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        help_text="What it is for, e.g. “karaoke app, production”.",
    )

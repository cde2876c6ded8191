from typing import Any, cast

from django import forms

from jobs import catalog
from jobs.models import Job


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "audio/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if isinstance(data, list | tuple):
            return [
                super(MultipleFileField, self).clean(item, initial) for item in data
            ]
        return [super().clean(data, initial)]


class ModelSelect(forms.Select):
    """A select whose models that cannot run here are disabled options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unavailable: set[str] = set()

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(*args, **kwargs)
        if option["value"] in self.unavailable:
            option["attrs"]["disabled"] = True
        return option


class JobUploadForm(forms.Form):
    songs = MultipleFileField(
        label="Songs", help_text="One or more audio files (mp3, wav, flac, ogg, m4a…)."
    )
    model = forms.ChoiceField(label="Model", widget=ModelSelect)
    two_stems = forms.ChoiceField(
        label="Stems",
        required=False,
        help_text="Keep every stem, or split one stem from everything else.",
    )
    output_format = forms.ChoiceField(
        label="Format", choices=Job.OutputFormat.choices, initial=Job.OutputFormat.MP3
    )

    def __init__(self, *args: Any, models: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_field = cast(forms.ChoiceField, self.fields["model"])
        model_field.choices = [(m["name"], _model_label(m)) for m in models]
        unavailable = [m for m in models if not catalog.model_is_available(m)]
        if unavailable:
            cast(ModelSelect, model_field.widget).unavailable = {
                m["name"] for m in unavailable
            }
            # The help text is the select's accessible description
            # (aria-describedby), so the reason is read with the choice.
            model_field.help_text = "Not available on this server: " + "; ".join(
                _unavailable_label(m) for m in unavailable
            )
            usable = [m["name"] for m in models if catalog.model_is_available(m)]
            model_field.initial = usable[0] if usable else None
        stems = sorted({stem for m in models for stem in m["stems"]})
        cast(forms.ChoiceField, self.fields["two_stems"]).choices = [
            ("", "All stems")
        ] + [(stem, f"{stem.title()} + everything else") for stem in stems]


def _model_label(model: dict[str, Any]) -> str:
    # For musicians first, for engineers second: "Four stems, fast (htdemucs)".
    description = model.get("description")
    label = f"{description} ({model['name']})" if description else model["name"]
    if not catalog.model_is_available(model):
        label += f" — unavailable: {model.get('reason') or 'cannot run here'}"
    return label


def _unavailable_label(model: dict[str, Any]) -> str:
    reason = model.get("reason") or "cannot run here"
    return f"{model['name']} ({reason})"

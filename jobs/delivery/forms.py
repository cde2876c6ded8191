from typing import Any, cast

from django import forms

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


class JobUploadForm(forms.Form):
    songs = MultipleFileField(
        label="Songs", help_text="One or more audio files (mp3, wav, flac, ogg, m4a…)."
    )
    model = forms.ChoiceField(label="Model")
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
        cast(forms.ChoiceField, self.fields["model"]).choices = [
            (m["name"], _model_label(m)) for m in models
        ]
        stems = sorted({stem for m in models for stem in m["stems"]})
        cast(forms.ChoiceField, self.fields["two_stems"]).choices = [
            ("", "All stems")
        ] + [(stem, f"{stem.title()} + everything else") for stem in stems]


def _model_label(model: dict[str, Any]) -> str:
    description = model.get("description")
    return f"{model['name']} ({description})" if description else model["name"]

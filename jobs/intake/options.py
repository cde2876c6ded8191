"""The separation options of an upload: model, two-stem choice, output format."""

from dataclasses import dataclass

from jobs import catalog, messages
from jobs.models import Job
from webhooks.services import webhook_url_check

from .errors import InvalidJobRequest, ModelUnavailable


@dataclass(frozen=True)
class JobOptions:
    model: str
    two_stems: str
    output_format: str
    webhook_url: str = ""


def job_options_validate(
    *,
    model: str,
    two_stems: str = "",
    output_format: str = "mp3",
    webhook_url: str = "",
) -> JobOptions:
    """Check the model, two-stem choice, format and webhook URL; the message
    lists valid choices.

    Raises InvalidJobRequest, InvalidWebhook, or ModelUnavailable for an
    offered model whose weights the stemworker cannot load (before anything is
    staged or charged).
    """
    models = catalog.models_available()
    chosen = next((m for m in models if m["name"] == model), None)
    if chosen is None:
        names = [m["name"] for m in models]
        if not model:
            raise InvalidJobRequest(messages.choose_model(names))
        raise InvalidJobRequest(messages.unknown_model(model, names))
    if not catalog.model_is_available(chosen):
        others = [m["name"] for m in models if catalog.model_is_available(m)]
        raise ModelUnavailable(
            messages.model_unavailable(model, chosen.get("reason") or "", others)
        )
    if two_stems and two_stems not in chosen["stems"]:
        raise InvalidJobRequest(
            messages.unknown_stem(model, two_stems, list(chosen["stems"]))
        )
    formats = [choice.value for choice in Job.OutputFormat]
    if output_format not in formats:
        raise InvalidJobRequest(messages.unknown_format(output_format, formats))
    return JobOptions(
        model=model,
        two_stems=two_stems or "",
        output_format=output_format,
        webhook_url=webhook_url_check(webhook_url) if webhook_url else "",
    )

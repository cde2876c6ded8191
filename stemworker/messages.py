"""Map the raw demucs log of a failed separation to a message a person understands.

The raw log is kept for operators; these messages are what users see.
"""

from __future__ import annotations

import re

UNREADABLE = "This file could not be read as audio."
MISSING = "The uploaded file is missing."
CRASHED = "The separation process stopped unexpectedly."
TIMED_OUT = "The separation took too long and was stopped."
FALLBACK = "Separation failed."
OUT_OF_MEMORY = "The server ran out of memory on this file; try a shorter file."

_OOM = re.compile(
    r"out of memory|MemoryError|can't allocate memory|Cannot allocate memory",
    re.IGNORECASE,
)
_STEM = re.compile(r'stem "([^"]+)" is not in selected model')
_WEIGHTS = re.compile(
    r"is neither a single pre-trained model or a bag of models"
    r"|Invalid checksum|Could not find (?:a )?pre-trained model"
    r"|ModelLoadingError|LocalEntryNotFoundError|OfflineModeIsEnabled"
    r"|Max retries exceeded|urlopen error|Name or service not known"
    r"|Temporary failure in name resolution|ConnectionError|HTTPError"
    r"|No such file or directory: '[^']*\.th'"
)
_AUDIO = re.compile(
    r"LoadAudioError|could not be read|Could not load file|IndexError"
    r"|AssertionError|Error opening|Format not recognised",
    re.IGNORECASE,
)


def too_long(max_seconds: float) -> str:
    """The message for a song longer than this server separates."""
    return (
        f"This song is longer than this server separates "
        f"({max_seconds / 60:g} minutes at most)."
    )


def weights_missing(model: str) -> str:
    """The message shown when a model's weights cannot be loaded."""
    return f"Model weights for {model} are not available on this server."


def model_unavailable(model: str, reason: str) -> str:
    """The refusal of a separation for a model that cannot load here."""
    return f"{weights_missing(model)[:-1]}: {reason}."


def human_message(log: str, *, model: str) -> str:
    """Return the short user-facing message for a failed run's log."""
    if _OOM.search(log):
        return OUT_OF_MEMORY
    stem = _STEM.search(log)
    if stem:
        return f"This model has no stem named {stem.group(1)}."
    if _WEIGHTS.search(log):
        return weights_missing(model)
    if _AUDIO.search(log):
        return UNREADABLE
    return FALLBACK

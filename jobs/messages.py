"""Every failure text a person reads about a job, in one place.

Constants for fixed sentences, small functions where the sentence names a file,
a model or a number. Operators' details (demucs logs) never go here.
"""

# --- A job that ended badly (shown on the job, credit refunded) ---------------
REFUNDED = "Your credit has been refunded."
STEMWORKER_UNAVAILABLE = (
    "The separation service is unavailable right now. "
    "Your credit has been refunded; please try again later."
)
STEMWORKER_BUSY = f"The server stayed busy for too long. {REFUNDED}"
STEMWORKER_RESTARTED = f"The separation service restarted during your job. {REFUNDED}"
STOPPED_RESPONDING = f"The job stopped responding. {REFUNDED}"
OUR_FAULT = f"Something went wrong on our side. {REFUNDED}"
INPUT_LOST = f"We lost the uploaded song before it could be separated. {REFUNDED}"
SEPARATION_FAILED = "Separation failed."
NOTHING_SEPARATED = "This file could not be read as audio."
CANCELLED = "Cancelled."

# --- Refusals at upload (nothing is charged) ------------------------------------
NO_FILES = "Choose at least one audio file."
STORAGE_FULL = (
    "We are short of storage space right now, so new songs cannot be "
    "accepted. Nothing was charged; please try again in a few minutes."
)


def file_too_large(limit_mb: int) -> str:
    return f"Each file can be at most {limit_mb} MB."


def too_many_uploads(wait_seconds: int) -> str:
    return f"Too many uploads; try again in {wait_seconds} seconds."


def choose_model(names: list[str]) -> str:
    return f"Choose a model: {', '.join(names)}."


def unknown_model(model: str, names: list[str]) -> str:
    return f"Unknown model “{model}”. Choose one of: {', '.join(names)}."


def model_unavailable(model: str, reason: str, others: list[str]) -> str:
    why = f" ({reason})" if reason else ""
    then = (
        f"Choose one of: {', '.join(others)}."
        if others
        else "No model can run here until the server's weights are installed."
    )
    return (
        f"“{model}” cannot run on this server right now{why}. "
        f"Nothing was charged. {then}"
    )


def unknown_stem(model: str, stem: str, stems: list[str]) -> str:
    return f"{model} has no stem named “{stem}”. Choose one of: {', '.join(stems)}."


def unknown_format(output_format: str, formats: list[str]) -> str:
    return (
        f"Unknown output format “{output_format}”. Choose one of: {', '.join(formats)}."
    )


def unsupported_file(name: str, extensions: tuple[str, ...]) -> str:
    return (
        f"“{name}” is not a supported audio file. Use one of: {', '.join(extensions)}."
    )


def empty_file(name: str) -> str:
    return f"“{name}” is empty."


def unreadable_file(name: str, reason: str) -> str:
    return f"“{name}” {reason}."


def too_short(name: str, seconds: float, minimum: float) -> str:
    return (
        f"“{name}” is too short to separate: it holds {seconds:.2f} s of "
        f"audio, and at least {minimum} s is needed."
    )


def length_label(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes" if seconds >= 60 else f"{seconds:.0f} s"


def too_long(name: str, announced: float | None, limit_minutes: float) -> str:
    """Past the cap: decoding stopped there, so only a header can say how long
    the whole file is, and only a header that admits to more than the cap."""
    minutes = f"{limit_minutes:g} minute{'' if limit_minutes == 1 else 's'}"
    if announced is not None and announced > limit_minutes * 60:
        return f"“{name}” is {length_label(announced)} long; the limit is {minutes}."
    return f"“{name}” is longer than the limit of {minutes}."


def too_long_for_model(name: str, seconds: float, model: str, limit: float) -> str:
    return (
        f"“{name}” is {length_label(seconds)} long, longer than {model} can "
        f"separate here in one job ({length_label(limit)} at most). Choose a "
        "faster model or a shorter file."
    )


def _credits(count: int) -> str:
    return f"{count} credit{'s' if count != 1 else ''}"


def too_many_active(
    *, active: int, cap: int, free: int, wanted: int, balance: int
) -> str:
    return (
        f"You have {active} of {cap} jobs in progress, so {free} more can start "
        f"now; {wanted} were sent. You have {_credits(balance)}. Try again when "
        "a job finishes."
    )


def not_enough_credits(*, balance: int, wanted: int, free: int) -> str:
    return (
        f"You have {_credits(balance)} and {wanted} song"
        f"{'s' if wanted != 1 else ''} need {wanted}; {free} more job"
        f"{'s' if free != 1 else ''} can start now. Buy a credit pack to "
        "separate more songs."
    )


# --- Downloads -------------------------------------------------------------------
STEMS_EXPIRED = "These stems have expired and were deleted from our servers."
NO_STEMS_YET = "This job has no stems yet."
STEM_MISSING = "This stem's file is missing."

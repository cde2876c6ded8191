"""Mapping demucs logs to messages a person understands."""

from __future__ import annotations

import pytest

from stemworker import messages
from stemworker.messages import human_message

UNREADABLE = "This file could not be read as audio."


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("demucs.audio.LoadAudioError: could not decode\n", UNREADABLE),
        ("File x.mp3 could not be read\n", UNREADABLE),
        ("Traceback...\nIndexError: list index out of range\n", UNREADABLE),
        ("Traceback...\nAssertionError\n", UNREADABLE),
        (
            "FATAL: mdx is neither a single pre-trained model or a bag of models.\n",
            "Model weights for mdx are not available on this server.",
        ),
        (
            "ModelLoadingError: Invalid checksum for file a.th\n",
            "Model weights for mdx are not available on this server.",
        ),
        (
            "Could not find pre-trained model with signature 955717e8.\n",
            "Model weights for mdx are not available on this server.",
        ),
        (
            "urllib3...: Max retries exceeded with url: /demucs/x.th\n",
            "Model weights for mdx are not available on this server.",
        ),
        (
            'error: stem "guitar" is not in selected model. STEM must be one of x\n',
            "This model has no stem named guitar.",
        ),
        (
            "RuntimeError: DefaultCPUAllocator: can't allocate memory\n",
            messages.OUT_OF_MEMORY,
        ),
        ("torch.OutOfMemoryError: CUDA out of memory.\n", messages.OUT_OF_MEMORY),
        ("KeyError: 'something odd'\n", "Separation failed."),
        ("", "Separation failed."),
    ],
)
def test_human_message(log: str, expected: str) -> None:
    assert human_message(log, model="mdx") == expected

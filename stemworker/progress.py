"""Turn the tqdm output demucs writes into one overall percentage.

tqdm redraws a bar with ``\\r`` and ends it with ``\\n``. A bag of N models prints
"Selected model is a bag of N models" and then runs one bar per model, so the
overall value is ``(finished_bars + current / 100) / N * 100``.
"""

from __future__ import annotations

import re

_BAR = re.compile(r"^\s*(\d{1,3})%\|")
_BAG = re.compile(r"Selected model is a bag of (\d+) models")


def _bag_size(text: str) -> int:
    match = _BAG.search(text)
    return max(1, int(match.group(1))) if match else 1


def _line_percents(line: str) -> list[int]:
    """The percentages of every bar frame in one ``\\n``-terminated line."""
    found = []
    for frame in line.split("\r"):
        match = _BAR.match(frame)
        if match:
            found.append(min(100, int(match.group(1))))
    return found


def parse_progress(text: str) -> float:
    """Return the overall progress (0..100) described by a demucs log so far."""
    total = _bag_size(text)
    lines = text.split("\n")
    finished = 0
    current = 0.0
    for index, line in enumerate(lines):
        percents = _line_percents(line)
        if not percents:
            continue
        # A drop inside one line means a new bar started without a newline.
        finished += sum(
            1 for a, b in zip(percents, percents[1:], strict=False) if b < a
        )
        if index < len(lines) - 1:  # the bar's closing newline was written
            finished += 1
            current = 0.0
        else:
            current = float(percents[-1])
    overall = (finished + current / 100) / total * 100
    return max(0.0, min(100.0, overall))

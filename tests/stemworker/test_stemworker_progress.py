"""tqdm progress parsing."""

from __future__ import annotations

import pytest

from stemworker.progress import parse_progress

BAR = "{pct:3d}%|{fill:<10}| {done}/5.85 [00:01<00:02, 2.5seconds/s]"


def frame(pct: int, done: str = "1.95") -> str:
    return BAR.format(pct=pct, fill="#" * (pct // 10), done=done)


def bar(*pcts: int, closed: bool = True) -> str:
    text = "\r".join(frame(p) for p in pcts)
    return text + ("\n" if closed else "")


def test_empty_log_is_zero() -> None:
    assert parse_progress("") == 0.0


def test_single_model_reports_current_frame() -> None:
    log = "Separating track x.wav\n" + bar(0, 33, 66, closed=False)
    assert parse_progress(log) == pytest.approx(66.0)


def test_single_model_finished_bar_is_100() -> None:
    assert parse_progress(bar(0, 50, 100, 100)) == pytest.approx(100.0)


def test_bag_of_two_scales_restarting_bars() -> None:
    head = "Selected model is a bag of 2 models. You will see that many...\n"
    assert parse_progress(head + bar(0, 50, closed=False)) == pytest.approx(25.0)
    first_done = head + bar(0, 100)
    assert parse_progress(first_done) == pytest.approx(50.0)
    assert parse_progress(first_done + bar(0, 40, closed=False)) == pytest.approx(70.0)
    assert parse_progress(first_done + bar(0, 100)) == pytest.approx(100.0)


def test_bag_of_four_restart_without_newline_counts_as_new_bar() -> None:
    head = "Selected model is a bag of 4 models.\n"
    log = head + "\r".join(frame(p) for p in (0, 100, 0, 50))
    assert parse_progress(log) == pytest.approx(37.5)


def test_float_counters_are_not_percentages() -> None:
    log = " 0.0/5.85 [00:00<?, ?seconds/s]\r 5.85/5.85 [00:01]"
    assert parse_progress(log) == 0.0


def test_garbage_lines_are_ignored() -> None:
    log = (
        "Traceback (most recent call last):\n  50% of nothing\nvalue 77%|\n"
        "\x00\xff binary \r 12%| here\n"
    )
    # Only " 12%|" at the start of a frame is a bar; it is closed by its newline.
    assert parse_progress(log) == pytest.approx(100.0)
    assert parse_progress("Traceback\nKeyError: 'x'\n") == 0.0


def test_never_above_100() -> None:
    assert parse_progress(bar(100) * 5) == 100.0

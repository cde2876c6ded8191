"""`manage.py rqworkers`: two RQ workers per stemworker slot, plus one, so that
a spare worker waits on every slot while the others encode and collect."""

import io

from devtools.stemworker_process import free_port
from jobs.management.commands.rqworkers import Command, workers_for


def test_two_per_slot_plus_one() -> None:
    assert [workers_for(n) for n in (1, 2, 8)] == [3, 5, 17]


def test_the_count_comes_from_the_stemworker(live_stemworker: str) -> None:
    count, why = Command()._count(wait=10)
    assert count == 3  # the tests' stemworker has one slot
    assert "two per stemworker slot (1)" in why


def test_rq_workers_overrides(live_stemworker: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RQ_WORKERS = 7
    assert Command()._count(wait=10) == (7, "RQ_WORKERS")


def test_without_a_stemworker_it_says_so_and_sizes_for_one_slot(settings) -> None:  # type: ignore[no-untyped-def]
    settings.STEMWORKER_URL = f"http://127.0.0.1:{free_port()}"  # nothing there
    command = Command(stderr=io.StringIO())
    assert command._count(wait=0)[0] == 3
    assert "Set RQ_WORKERS" in command.stderr.getvalue()  # type: ignore[attr-defined]

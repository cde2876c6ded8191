"""Races on purpose: the same call from several threads released at once."""

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection


def race(action: Callable[[Any], Any], arguments: Sequence[Any]) -> list[Any]:
    """Run `action(argument)` for each argument in its own thread, all released
    together by a barrier; returns what each returned, in argument order (an
    exception is returned, not raised). Each thread closes its database
    connection, so use it in `django_db(transaction=True)` tests."""
    barrier = threading.Barrier(len(arguments))
    results: list[Any] = [None] * len(arguments)

    def run(index: int, argument: Any) -> None:
        try:
            barrier.wait()
            results[index] = action(argument)
        except Exception as error:  # noqa: BLE001 - handed back to the test
            results[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, argument))
        for index, argument in enumerate(arguments)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results

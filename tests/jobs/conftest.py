"""The stemworker fixtures moved to tests/conftest.py (tests/cms and
tests/browser use them too); `run_queue` stays importable from here."""

from tests.conftest import STEMWORKER_MODELS, run_queue

__all__ = ["STEMWORKER_MODELS", "run_queue"]

"""API fixtures: clients with real tokens."""

import pytest
from rest_framework.test import APIClient

from tests.helpers.api import token_client


@pytest.fixture
def api(user) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(user)


@pytest.fixture
def other_api(other_user) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(other_user)

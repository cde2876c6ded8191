"""Typing helpers for views that only run for signed-in people."""

from typing import Any, cast

from .models import User


def signed_in_user(request: Any) -> User:
    """The request's user, for views behind login_required or IsAuthenticated."""
    return cast(User, request.user)

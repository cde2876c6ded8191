"""API token authentication: knox's hashed tokens, plus a last-used time."""

from typing import Any

from django.utils import timezone
from knox.auth import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    def validate_user(self, auth_token: Any) -> tuple[Any, Any]:
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        # Write at most once a minute so a busy script doesn't turn reads into writes.
        last = token.last_used_at
        if last is None or (now - last).total_seconds() > 60:
            type(token).objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token

"""Template context shared by every page: facts about this server."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "free_credits": settings.FREE_CREDITS,
        "operator_contact": settings.SITE_CONTACT_EMAIL,
        "project_source_url": settings.PROJECT_SOURCE_URL,
    }

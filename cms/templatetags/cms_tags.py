"""`{% load cms_tags %}`: links to the editor-managed pages, for nav and footer."""

from typing import Any

from django import template
from wagtail.models import Page, Site

register = template.Library()


@register.simple_tag(takes_context=True)
def site_pages(context: dict[str, Any]) -> dict[str, Page]:
    """The live pages under the site's home, by slug (pricing, terms, privacy…)."""
    request = context.get("request")
    site = Site.find_for_request(request) if request is not None else None
    if site is None:
        return {}
    pages = site.root_page.get_children().live().public().specific()
    return {page.slug: page for page in pages}

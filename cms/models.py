"""Editor-managed pages (Wagtail)."""

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page


class HomePage(Page):
    """The landing page at the site root."""

    hero_title = models.CharField(max_length=120, default="Split any song into stems")
    hero_text = models.TextField(
        default=(
            "Upload a song and get its vocals, drums, bass and more as separate "
            "tracks, made with demucs. Your first 3 songs are free."
        )
    )
    body = RichTextField(blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("hero_title"),
        FieldPanel("hero_text"),
        FieldPanel("body"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

"""Editor-managed pages (Wagtail) and the sample song of the landing-page demo."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest
from wagtail.admin.panels import FieldPanel, HelpPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from billing.selectors import packs_active
from jobs import storage

from .blocks import QuestionBlock, StepBlock
from .presenters import sample_song_notice, sample_song_sets
from .stem_sets import StemSet


class HomePage(Page):
    """The landing page at the site root: hero, how it works, demo, FAQ, CTA."""

    hero_title = models.CharField(max_length=120, default="Split any song into stems")
    hero_text = models.TextField(
        default=(
            "Upload a song and get its vocals, drums, bass and more as separate "
            "tracks, made with demucs. Your first 3 songs are free."
        )
    )
    body = RichTextField(blank=True)
    steps = StreamField(
        [("step", StepBlock())], blank=True, verbose_name="How it works"
    )
    demo_heading = models.CharField(max_length=120, default="Hear it for yourself")
    demo_text = models.TextField(
        blank=True,
        help_text="Shown above the sample-song player.",
    )
    sample_song = models.ForeignKey(
        "cms.SampleSong",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The song played in the demo; run `manage.py load_demo_content "
        "--rerun` after replacing its audio.",
    )
    faq = StreamField([("question", QuestionBlock())], blank=True, verbose_name="FAQ")
    cta_title = models.CharField(max_length=120, default="Try it on your own songs")
    cta_text = models.TextField(
        blank=True, default="Sign up with your email: 3 songs are on us."
    )

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [FieldPanel("hero_title"), FieldPanel("hero_text")], heading="Hero"
        ),
        FieldPanel("steps"),
        MultiFieldPanel(
            [
                FieldPanel("demo_heading"),
                FieldPanel("demo_text"),
                FieldPanel("sample_song"),
            ],
            heading="Sample-song demo",
        ),
        FieldPanel("body"),
        FieldPanel("faq"),
        MultiFieldPanel(
            [FieldPanel("cta_title"), FieldPanel("cta_text")],
            heading="Call to action",
        ),
    ]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms.PricingPage", "cms.ContentPage"]
    max_count = 1

    def get_context(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)
        song = self.sample_song
        context["demo"] = sample_song_sets(song) if song else []
        context["demo_notice"] = (
            sample_song_notice(song, context["demo"]) if song else ""
        )
        return context


class PricingPage(Page):
    """Editor copy around the credit packs, which come from billing."""

    intro = RichTextField(blank=True)
    fine_print = RichTextField(blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        HelpPanel(
            content="The packs and their prices come from Billing → Credit packs "
            "in the Django admin; they are never typed here."
        ),
        FieldPanel("fine_print"),
    ]

    parent_page_types = ["cms.HomePage"]
    subpage_types: list[str] = []
    max_count = 1

    def get_context(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)
        context["packs"] = list(packs_active())
        context["free_credits"] = settings.FREE_CREDITS
        return context


class ContentPage(Page):
    """Plain editor-written pages: terms, privacy, about."""

    intro = models.TextField(blank=True)
    body = RichTextField()

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]

    parent_page_types = ["cms.HomePage"]
    subpage_types: list[str] = []


class SampleSong(models.Model):
    """The song of the landing-page demo: its original mix and two stem sets.

    The audio lives on the shared volume under `demo/<id>/` and is served by
    `cms.views.demo_audio` with Range support. `source` is the editor's own
    song, if they upload one; without it the sample is made in code.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for separation"
        READY = "ready", "Ready"
        FAILED = "failed", "Separation failed"

    title = models.CharField(max_length=120, default="Mux Minus demo")
    credit = models.CharField(
        max_length=200,
        blank=True,
        default="An original made in code for Mux Minus (public domain).",
        help_text="Who made the song; shown under the player.",
    )
    source = models.FileField(
        upload_to="sample-songs/",
        blank=True,
        help_text="Your own song (mp3, wav, flac or ogg; you must hold the "
        "rights), or empty for the song made in code. Saving separates nothing: "
        "“Separate again”, in the sample songs list, makes it the demo’s original "
        "mix and queues its separation with htdemucs (vocals and the rest) and "
        "htdemucs_6s (six stems); the list’s Stems column says when it is ready.",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    error = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    panels = [FieldPanel("title"), FieldPanel("credit"), FieldPanel("source")]

    class Meta:
        verbose_name = "sample song"

    def __str__(self) -> str:
        return self.title

    @property
    def folder(self) -> Path:
        return storage.demo_dir(self.pk)


class SampleTrack(models.Model):
    """One audio file of a sample song: the mix, or a stem of one stem set."""

    Set = StemSet

    song = models.ForeignKey(
        SampleSong, on_delete=models.CASCADE, related_name="tracks"
    )
    stem_set = models.CharField(max_length=16, choices=StemSet.choices)
    name = models.CharField(max_length=32)
    relative_path = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(default=0)
    duration_seconds = models.FloatField(default=0)
    peaks = models.JSONField(default=list)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["song", "stem_set", "name"], name="sample_track_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.song}: {self.stem_set}/{self.name}"

    @property
    def path(self) -> Path:
        return settings.SHARED_ROOT / self.relative_path

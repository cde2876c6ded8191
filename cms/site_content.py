"""The site tree's starting copy: home, pricing, terms, privacy and about.

`pages_ensure()` only fills what is missing, so editors' changes survive
`load_demo_content` runs.
"""

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from wagtail.models import Page, Site

from .models import ContentPage, HomePage, PricingPage, SampleSong

RETENTION = settings.OUTPUT_RETENTION_HOURS

STEPS = [
    (
        "Upload your songs",
        "Drop one file or a whole album: mp3, wav, flac, ogg or m4a. "
        "Each song uses one credit.",
    ),
    (
        "Pick the stems",
        "Four stems (vocals, drums, bass, other), six (adding guitar and piano), "
        "or one stem and everything else, for a karaoke track in one go.",
    ),
    (
        "Play, mix and download",
        "Listen to the stems together or one at a time, right in your browser, "
        "then download each one or all of them as a zip.",
    ),
]


def _faq() -> list[tuple[str, str]]:
    return [
        (
            "What does it cost?",
            f"<p>Every new account gets {settings.FREE_CREDITS} free credits; one "
            "credit separates one song, whatever its length (up to "
            f"{settings.MAX_AUDIO_MINUTES} minutes). After that, credits come in "
            'packs: see <a href="/pricing/">pricing</a>. They never expire.</p>',
        ),
        (
            "Do you keep my music?",
            "<p>No. Your upload is deleted as soon as its separation ends, "
            f"successful or not, and the stems are deleted {RETENTION} hours "
            "after they are made. The job stays in your list, grayed out, so you "
            "know what you did.</p>",
        ),
        (
            "How good is the separation?",
            "<p>Mux Minus runs demucs by Meta AI Research, one of the best open "
            "source models. It is very good on vocals, drums and bass; the "
            "guitar and piano stems of the six-stem model are rougher, and a "
            "little bleed between stems is normal.</p>",
        ),
        (
            "How long does it take?",
            "<p>A few minutes for a typical song. You can upload many at once: "
            "five are processed at a time and the rest wait their turn in your "
            "browser, uploading as soon as a slot frees up.</p>",
        ),
        (
            "What if a separation fails?",
            "<p>You get your credit back automatically, with a message that says "
            "what went wrong.</p>",
        ),
        (
            "Can I script it?",
            "<p>Yes: create an API token on your account page and use the REST "
            'API (<a href="/api/docs/">documentation</a>).</p>',
        ),
    ]


# Separation runs on the server; only listening happens in the browser.
ABOUT_INTRO = (
    "Mux Minus splits songs into stems on its servers; you listen to them and "
    "download them in your browser."
)


def _content_pages() -> list[dict[str, str]]:
    return [
        {
            "slug": "about",
            "title": "About",
            "intro": ABOUT_INTRO,
            "body": (
                "<p>Mux Minus is an open-source web application and API on top of "
                '<a href="https://github.com/facebookresearch/demucs">demucs</a>, '
                "the music source separation model by Meta AI Research. Upload a "
                "song and get its vocals, drums, bass and other parts back as "
                "separate files, to practise along, make a karaoke track, remix "
                "or study an arrangement.</p>"
                "<p>We built it to be simple and honest: you pay per song, we "
                "keep nothing longer than needed, and every failed job is "
                "refunded.</p>"
            ),
        },
        {
            "slug": "terms",
            "title": "Terms of use",
            "intro": "The short version: only upload music you have the right to "
            "use, and use the stems accordingly.",
            "body": (
                "<h2>Your music</h2>"
                "<p>You may only upload recordings you own or are allowed to "
                "process. The stems are yours to use as far as the rights in the "
                "original allow; separating a song does not give you any new "
                "rights in it.</p>"
                "<h2>Credits</h2>"
                f"<p>New accounts get {settings.FREE_CREDITS} free credits once. "
                "One credit separates one song. Purchased credits never expire "
                "and are not refundable once used; a failed separation gives its "
                "credit back automatically.</p>"
                "<h2>Fair use</h2>"
                f"<p>Each account can have {settings.MAX_ACTIVE_JOBS_PER_USER} "
                "songs in progress at a time. The API is rate limited. We may "
                "close accounts that abuse the service.</p>"
                "<h2>No warranty</h2>"
                "<p>Separation quality depends on the song; the service is "
                "provided as is.</p>"
            ),
        },
        {
            "slug": "privacy",
            "title": "Privacy",
            "intro": "We keep as little as we can, for as short as we can.",
            "body": (
                "<h2>Your files</h2>"
                "<p>Your original upload is deleted as soon as its separation "
                f"ends. Stems are deleted {RETENTION} hours after they are made. "
                "Only you can play or download them.</p>"
                "<h2>Your account</h2>"
                "<p>We store your email address, a hash of your password (or the "
                "provider you signed in with), your credit history, purchases and "
                "the list of your jobs (file name, model, status). Payments are "
                "handled by Square; we never see your card.</p>"
                "<h2>Deleting your account</h2>"
                "<p>You can delete your account from the account page at any "
                "time: every job, stem, token and address goes with it. Purchase "
                "records are kept for accounting, with nothing linking them to "
                "you.</p>"
                "<h2>Cookies</h2>"
                "<p>Only the session and security cookies the site needs to work. "
                "No tracking, no ads.</p>"
            ),
        },
    ]


def home_get() -> HomePage:
    home = HomePage.objects.first()
    if home is not None:
        return home
    root = Page.get_first_root_node()
    home = root.add_child(instance=HomePage(title="Mux Minus", slug="home"))
    Site.objects.update_or_create(
        is_default_site=True,
        defaults={"hostname": "localhost", "root_page": home, "site_name": "Mux Minus"},
    )
    return home


@transaction.atomic
def pages_ensure() -> list[Page]:
    """Fill the home page's empty sections and add the missing pages under it."""
    home = home_get()
    created: list[Page] = []
    changed = False
    if not home.steps:
        # Raw JSON, the form StreamField stores (blocks' raw values).
        home.steps = json.dumps(
            [
                {"type": "step", "value": {"title": title, "text": text}}
                for title, text in STEPS
            ]
        )
        changed = True
    if not home.faq:
        home.faq = json.dumps(
            [
                {"type": "question", "value": {"question": q, "answer": a}}
                for q, a in _faq()
            ]
        )
        changed = True
    if not home.demo_text:
        home.demo_text = (
            "A short song made for this page: drums, bass, guitar, piano and a "
            "voice. Play the original, then the stems, together or one at a time."
        )
        changed = True
    if changed:
        home.save_revision().publish()
    children = {page.slug: page for page in home.get_children()}
    if not PricingPage.objects.exists():
        created.append(
            _add(
                home,
                PricingPage(
                    title="Pricing",
                    slug="pricing",
                    intro=(
                        f"<p>Every account starts with {settings.FREE_CREDITS} "
                        "free credits. One credit separates one song, whichever "
                        "model you choose. Need more? Buy a pack: credits never "
                        "expire.</p>"
                    ),
                    fine_print=(
                        "<p>Prices include all features: every model, every "
                        "format, the player and the API. A failed separation "
                        "gives its credit back. Payments are handled by "
                        "Square.</p>"
                    ),
                ),
            )
        )
    for fields in _content_pages():
        if fields["slug"] not in children:
            created.append(_add(home, ContentPage(**fields)))
    return created


def _add(parent: Page, page: Any) -> Page:
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def home_sample_song_set(song: SampleSong) -> None:
    """Point the home page's demo at `song` when it shows none yet."""
    home = home_get()
    if home.sample_song_id is None:
        home.sample_song = song
        home.save_revision().publish()

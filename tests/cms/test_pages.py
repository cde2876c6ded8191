"""Wagtail page rules, editor creation and rendering of every page type."""

import pytest
from django.test import Client
from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from billing.models import CreditPack
from cms import site_content
from cms.models import ContentPage, HomePage, PricingPage, SampleSong

pytestmark = pytest.mark.django_db


class PageRulesTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.home = HomePage.objects.get()

    def test_parent_and_child_rules(self) -> None:
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertAllowedSubpageTypes(HomePage, {PricingPage, ContentPage})
        self.assertAllowedParentPageTypes(PricingPage, {HomePage})
        self.assertAllowedParentPageTypes(ContentPage, {HomePage})
        self.assertAllowedSubpageTypes(PricingPage, set())
        self.assertAllowedSubpageTypes(ContentPage, set())

    def test_only_one_home_and_one_pricing_page(self) -> None:
        root = Page.get_first_root_node()
        self.assertFalse(HomePage.can_create_at(root))  # max_count = 1, it exists
        self.assertTrue(PricingPage.can_create_at(self.home))
        site_content.pages_ensure()
        self.assertFalse(PricingPage.can_create_at(self.home))
        self.assertCanCreateAt(HomePage, ContentPage)
        self.assertCanNotCreateAt(ContentPage, ContentPage)

    def test_editors_can_create_pages_in_the_admin(self) -> None:
        self.login()
        self.assertCanCreate(
            self.home,
            ContentPage,
            nested_form_data(
                {
                    "title": "Cookies",
                    "slug": "cookies",
                    "intro": "Only the ones we need.",
                    "body": rich_text("<p>Session and CSRF cookies.</p>"),
                }
            ),
        )
        self.assertCanCreate(
            self.home,
            PricingPage,
            nested_form_data(
                {
                    "title": "Pricing",
                    "slug": "pricing",
                    "intro": rich_text("<p>Pay per song.</p>"),
                    "fine_print": rich_text(""),
                }
            ),
        )

    def test_editors_can_edit_the_home_page_sections(self) -> None:
        self.login()
        data = nested_form_data(
            {
                "title": "Mux Minus",
                "slug": "home",
                "hero_title": "Stems in a minute",
                "hero_text": "Try it.",
                "steps": streamfield(
                    [("step", {"title": "Upload", "text": "Drop a song."})]
                ),
                "demo_heading": "Listen",
                "demo_text": "",
                "body": rich_text(""),
                "faq": streamfield(
                    [
                        (
                            "question",
                            {"question": "Free?", "answer": rich_text("<p>Yes</p>")},
                        )
                    ]
                ),
                "cta_title": "Go",
                "cta_text": "",
                "action-publish": "publish",
            }
        )
        response = self.client.post(f"/cms/pages/{self.home.pk}/edit/", data)
        self.assertEqual(response.status_code, 302, response.content[:3000])
        home = HomePage.objects.get()
        self.assertEqual(home.hero_title, "Stems in a minute")
        self.assertEqual(home.faq[0].value["question"], "Free?")

    def test_every_page_type_renders(self) -> None:
        site_content.pages_ensure()
        self.assertPageIsRenderable(HomePage.objects.get())
        self.assertPageIsRenderable(PricingPage.objects.get())
        for page in ContentPage.objects.all():
            self.assertPageIsRenderable(page)
        self.assertEqual(
            sorted(ContentPage.objects.values_list("slug", flat=True)),
            ["about", "privacy", "terms"],
        )


def test_pricing_page_shows_the_packs_from_billing(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    # A server that sells (no call to Square is made to show the page).
    settings.SQUARE_ACCESS_TOKEN = "token"
    settings.SQUARE_LOCATION_ID = "location"
    settings.SQUARE_WEBHOOK_SIGNATURE_KEY = "key"
    settings.SQUARE_WEBHOOK_URL = "https://muxminus.test/billing/square/webhook/"
    site_content.pages_ensure()
    page = client.get("/pricing/").content.decode()
    for price in ("$1.00", "$4.00", "$15.00"):
        assert price in page
    CreditPack.objects.filter(price_cents=400).update(price_cents=450)
    CreditPack.objects.filter(price_cents=1500).update(active=False)
    page = client.get("/pricing/").content.decode()
    assert "$4.50" in page and "$4.00" not in page and "$15.00" not in page


def test_pages_ensure_is_idempotent_and_keeps_editor_changes() -> None:
    first = site_content.pages_ensure()
    assert {page.slug for page in first} == {"pricing", "terms", "privacy", "about"}
    about = ContentPage.objects.get(slug="about")
    about.title = "About us"
    about.save_revision().publish()
    count = Page.objects.count()
    assert site_content.pages_ensure() == []
    assert Page.objects.count() == count
    assert ContentPage.objects.get(slug="about").title == "About us"


def test_home_shows_steps_faq_and_links(client: Client) -> None:
    site_content.pages_ensure()
    page = client.get("/").content.decode()
    assert "How it works" in page
    assert "Do you keep my music?" in page
    for link in ("/pricing/", "/terms/", "/privacy/", "/about/"):
        assert f'href="{link}"' in page
    # No demo yet: the section is left out rather than shown empty.
    assert "data-demo" not in page
    assert not SampleSong.objects.exists()


def test_site_words_title_footer_and_favicon(client, settings):
    site_content.pages_ensure()
    settings.PROJECT_SOURCE_URL = "https://example.org/muxminus"
    home = client.get("/").content.decode()
    title = home.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.count("Mux Minus") == 1, title
    assert '<a href="https://example.org/muxminus">Source code</a>' in home
    assert 'rel="icon"' in home
    about = client.get("/about/").content.decode()
    assert "splits songs into stems, in your browser" not in about
    assert "splits songs into stems on its servers" in about
    assert client.get("/about/").content.decode().count("· Mux Minus</title>") == 1
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 301
    assert favicon["Location"] == "/static/img/favicon.svg"
    assert (settings.BASE_DIR / "static" / "img" / "favicon.svg").is_file()

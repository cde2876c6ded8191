"""The dashboard in chromium when the real stemworker offers a model it cannot
load (mdx_extra: no weights in its repo): the choice is disabled, its reason is
the menu's accessible description, and the page passes axe."""

import pytest

from tests.helpers.accounts import signed_up_user
from tests.helpers.browser import axe_check, log_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]

DESCRIPTION = """() => {
  const select = document.getElementById('id_model');
  return (select.getAttribute('aria-describedby') || '').split(' ')
    .map((id) => document.getElementById(id).textContent).join(' ');
}"""


def test_a_model_without_weights_is_disabled_with_its_reason(
    page, live_server, live_stemworker, settings
) -> None:
    settings.DEMUCS_MODELS = ["mdx_extra", "htdemucs", "htdemucs_6s"]
    log_in(page, live_server, signed_up_user(email="weights@example.com"))
    page.goto("/jobs/")
    unavailable = page.locator("#id_model option[value=mdx_extra]")
    assert unavailable.is_disabled()
    assert "unavailable: weights not found in DEMUCS_REPO" in unavailable.inner_text()
    assert page.locator("#id_model").input_value() == "htdemucs"
    assert not page.locator("#id_model option[value=htdemucs]").is_disabled()
    description = page.evaluate(DESCRIPTION)
    assert description == (
        "Not available on this server: mdx_extra (weights not found in DEMUCS_REPO)"
    )
    axe_check(page, "dashboard (a model without weights)")

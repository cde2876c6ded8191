"""The models offered, as the real stemworker reports them (tiny models; it
offers mdx_extra, whose weights are not in its repo)."""

import pytest

from jobs import catalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(settings):  # type: ignore[no-untyped-def]
    settings.DEMUCS_MODELS = ["htdemucs", "htdemucs_6s", "mdx_extra"]
    return settings.DEMUCS_MODELS


def test_the_catalog_learns_which_models_can_run_from_the_stemworker(
    live_stemworker, offered
) -> None:
    models = {m["name"]: m for m in catalog.models_available()}
    assert list(models) == offered
    assert (models["htdemucs"]["available"], models["htdemucs"]["reason"]) == (
        True,
        "",
    )
    assert models["mdx_extra"]["available"] is False
    assert models["mdx_extra"]["reason"] == "weights not found in DEMUCS_REPO"
    assert len(models["htdemucs_6s"]["stems"]) == 6


def test_without_the_stemworker_every_configured_model_is_listed_available(
    offered,
) -> None:
    models = catalog.models_available()  # STEMWORKER_URL: nothing listens
    assert [m["name"] for m in models] == offered
    assert all(m["available"] and m["reason"] == "" for m in models)

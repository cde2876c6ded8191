"""The API on a real stemworker that offers a model it cannot load (mdx_extra:
no weights in its repo): listed as unavailable, and a job for it refused with
a 400 before any credit is taken."""

import pytest

from billing.services import account_for_user
from jobs.models import Job
from tests.helpers.api import post_jobs, upload
from tests.helpers.stored import shared_files

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def offered(settings, live_stemworker):  # type: ignore[no-untyped-def]
    settings.DEMUCS_MODELS = ["htdemucs", "htdemucs_6s", "mdx_extra"]


def test_the_models_list_says_which_can_run_and_why_not(api) -> None:
    models = {m["name"]: m for m in api.get("/api/v1/models/").json()}
    assert set(models["htdemucs"]) == {
        "name",
        "stems",
        "description",
        "available",
        "reason",
    }
    assert (models["htdemucs"]["available"], models["htdemucs"]["reason"]) == (
        True,
        "",
    )
    assert models["mdx_extra"] == {
        "name": "mdx_extra",
        "stems": ["drums", "bass", "other", "vocals"],
        "description": "Four stems, older MDX model trained on more music",
        "available": False,
        "reason": "weights not found in DEMUCS_REPO",
    }


def test_a_job_for_a_model_that_cannot_run_is_refused_before_any_credit(
    api, user, wav
) -> None:
    response = post_jobs(api, upload(wav), model="mdx_extra")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "model_unavailable"
    assert body["detail"] == (
        "“mdx_extra” cannot run on this server right now (weights not found in "
        "DEMUCS_REPO). Nothing was charged. Choose one of: htdemucs, htdemucs_6s."
    )
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert not user.credit_account.entries.filter(kind="job_debit").exists()
    assert shared_files() == []
    # The models that can run still take jobs.
    assert post_jobs(api, upload(wav), model="htdemucs").status_code == 201

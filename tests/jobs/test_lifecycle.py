"""The lifecycle: every state change once, refunds once, originals never kept."""

import pytest

from billing.services import account_for_user
from jobs import lifecycle
from jobs.models import Job
from tests.helpers.jobs import submit, upload
from tests.helpers.stored import shared_files

pytestmark = pytest.mark.django_db


def test_cancel_refunds_and_removes_the_upload(user, wav):
    [job] = submit(user, upload(wav))
    assert lifecycle.job_cancel(job=job) is True
    assert lifecycle.job_cancel(job=job) is False
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert account_for_user(user).balance == 3
    assert shared_files() == []

"""django-rq's queue pages in the Django admin, in a real browser, with a failed
job present: no JavaScript error, no CSP violation (the `page` fixture fails the
test on either), and selecting failed jobs for an action works."""

from typing import Any

import django_rq
import pytest
from rq.worker import SimpleWorker

from tests.helpers.accounts import signed_up_user
from tests.helpers.browser import log_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("baseline"),
]


def explode() -> None:
    raise RuntimeError("the stemworker caught fire")


def visit(page: Any, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    page.wait_for_selector("#content-main")
    page.wait_for_load_state("load")


def test_the_failed_jobs_page_works_in_the_browser(page, live_server) -> None:  # type: ignore[no-untyped-def]
    queue = django_rq.get_queue("default")
    job = queue.enqueue(explode)
    assert job is not None  # autocommit: pushed at once
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)
    assert job.id in queue.failed_job_registry.get_job_ids()
    log_in(page, live_server, signed_up_user(is_staff=True, is_superuser=True))

    for prefix in ("/django-admin/rq/", "/django-admin/django_rq/dashboard/"):
        visit(page, f"{prefix}queues/0/failed/")
        row = page.locator("#result_list tbody tr", has_text=job.id)
        assert row.count() == 1
        # Select all, then none: the admin's select-all box drives the rows.
        page.check("#action-toggle")
        assert row.locator("input.action-select").is_checked()
        page.uncheck("#action-toggle")
        assert not row.locator("input.action-select").is_checked()
        row.locator("input.action-select").check()
        assert page.locator("#action-toggle").is_checked()  # the only row
        # The other list pages share the same script.
        for name in ("", "finished/", "started/", "deferred/", "scheduled/"):
            visit(page, f"{prefix}queues/0/{name}")
        visit(page, f"{prefix}workers/0/")

    # The job's page lists its results; the failed one shows the traceback.
    visit(page, f"/django-admin/rq/queues/0/{job.id}/")
    page.get_by_role("link", name="View →").click()
    page.wait_for_selector("#content-main")
    assert "RuntimeError: the stemworker caught fire" in page.content()

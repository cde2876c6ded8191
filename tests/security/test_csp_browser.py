"""The Content-Security-Policy in a real browser, on the pages that are not
the site's own: the Django admin (and django-rq's queue pages in it), the
Wagtail admin and the Swagger UI. The `page` fixture (tests/browser/conftest.py)
fails a test on any CSP violation the browser reports.
"""

from __future__ import annotations

from typing import Any

import pytest
from wagtail.models import Page

from tests.helpers.jobs import finished_job

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"  # UserFactory's


@pytest.fixture
def superuser(baseline):  # type: ignore[no-untyped-def]
    from tests.helpers.accounts import signed_up_user

    return signed_up_user(is_staff=True, is_superuser=True)


def sign_in_to_django_admin(page: Any, email: str) -> None:
    # The admin's login page sends staff to the site's (allauth's), and back.
    page.goto("/django-admin/login/?next=/django-admin/")
    page.wait_for_url("**/accounts/login/?next=*")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/django-admin/")


def visit(page: Any, path: str, ready: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    assert "content-security-policy" in response.headers, path
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")


def test_the_admins_and_queue_pages_work_under_the_policy(page, superuser) -> None:  # type: ignore[no-untyped-def]
    job = finished_job(superuser)
    sign_in_to_django_admin(page, superuser.email)
    visit(page, "/django-admin/", "#content-main")
    assert page.locator("a[href='/django-admin/django_rq/dashboard/']").count()
    visit(page, "/django-admin/jobs/job/", "#result_list")
    visit(page, f"/django-admin/jobs/job/{job.pk}/change/", "#content-main")
    visit(page, "/django-admin/billing/purchase/", "#content-main")
    visit(page, "/django-admin/billing/creditentry/", "#result_list")
    visit(page, "/django-admin/accounts/user/", "#result_list")
    visit(page, "/django-admin/django_rq/dashboard/", "#content-main")
    visit(page, "/django-admin/rq/", "#content-main")
    visit(page, "/django-admin/rq/queues/0/details/", "#content-main")
    # The job lists too (templates/django_rq/ give them a script that works).
    visit(page, "/django-admin/rq/queues/0/failed/", "#content-main")
    home = Page.objects.get(depth=2)
    visit(page, "/cms/", "main")
    visit(page, "/cms/pages/", "main")
    visit(page, f"/cms/pages/{home.pk}/edit/", "form")
    visit(page, "/cms/snippets/", "main")
    visit(page, "/cms/images/", "main")


def test_the_api_docs_work_under_the_policy(page, baseline) -> None:  # type: ignore[no-untyped-def]
    visit(page, "/api/docs/", "#swagger-ui")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".opblock").count() >= 5

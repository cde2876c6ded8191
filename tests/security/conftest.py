"""The browser fixtures (Playwright on chromium, with the CSP-violation check)
for test_csp_browser.py."""

from tests.browser.conftest import baseline, browser, page  # noqa: F401

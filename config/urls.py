from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django_rq import urls as django_rq_urls
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls
from wagtail.utils.urlpatterns import decorate_urlpatterns

from accounts.views import sign_in_on_the_site

from .views import favicon, healthz

handler400 = "config.views.bad_request"
handler500 = "config.views.server_error"

# Staff-only tools whose pages carry inline scripts and styles (Wagtail's widget
# set-up calls and Draftail's injected styles; django-rq's action script and
# table style) get the site's policy with inline code allowed; everything else
# (sources, objects, framing, form targets) stays as strict as the site's.
_STAFF_TOOLS_CSP = csp_replace(
    {"script-src": [SELF, UNSAFE_INLINE], "style-src": [SELF, UNSAFE_INLINE]}
)
Patterns = list[URLPattern | URLResolver]


def _django_admin_urls() -> tuple[Patterns, str, str]:
    """The Django admin; django-rq's queue pages inside it are staff tools."""
    patterns, app_name, namespace = admin.site.urls
    rq_pages = [p for p in patterns if str(p.pattern).startswith("django_rq/")]
    decorate_urlpatterns(rq_pages, _STAFF_TOOLS_CSP)
    return patterns, app_name, namespace


# Every page that takes a password is allauth's: the admins' and Wagtail's own
# login, password-reset and password-change pages send people there (these
# come before the admins' URLs, which they shadow).
ONE_WAY_IN = [
    path("cms/login/", sign_in_on_the_site),
    re_path(r"^cms/password_reset/", sign_in_on_the_site),
    path("_util/login/", sign_in_on_the_site),
    path("django-admin/login/", sign_in_on_the_site),
    re_path(r"^django-admin/password_change/", sign_in_on_the_site),
]

urlpatterns = [
    *ONE_WAY_IN,
    path("healthz", healthz, name="healthz"),
    # Browsers ask for it whatever the page says; pages link the SVG directly.
    path("favicon.ico", favicon),
    # django-rq's own views require a staff member (as the admin does).
    path(
        "django-admin/rq/",
        include(
            (
                decorate_urlpatterns(django_rq_urls.urlpatterns, _STAFF_TOOLS_CSP),
                django_rq_urls.app_name,
            )
        ),
    ),
    path("django-admin/", _django_admin_urls()),
    path(
        "cms/",
        include(decorate_urlpatterns(wagtailadmin_urls.urlpatterns, _STAFF_TOOLS_CSP)),
    ),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/delete/", include("closure.urls")),
    path("accounts/webhooks/", include("webhooks.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("jobs/", include("jobs.delivery.urls")),
    path("billing/", include("billing.urls")),
    path("demo/", include("cms.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline code.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail serves every other path: the landing, pricing and content pages.
urlpatterns += [path("", include(wagtail_urls))]

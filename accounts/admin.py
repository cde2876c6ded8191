"""The admin's one "Accounts" section: people, their email addresses, their
social sign-ins and their API tokens.

allauth registers its models under its own apps (two more headings, one of them
also called "Accounts"); they are listed here instead, through proxies, with
allauth's own admin classes (search, the "mark as verified" action).
"""

from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress as AllauthEmailAddress
from allauth.socialaccount.admin import (
    SocialAccountAdmin as AllauthSocialAccountAdmin,
)
from allauth.socialaccount.models import SocialAccount as AllauthSocialAccount
from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from .models import ApiToken, EmailAddress, SocialAccount, User

admin.site.unregister(AllauthEmailAddress)
admin.site.unregister(AllauthSocialAccount)
# Providers are configured in settings (SOCIALACCOUNT_PROVIDERS, from the
# environment), where a second copy in the database makes allauth raise; and
# no provider tokens are stored (SOCIALACCOUNT_STORE_TOKENS = False).
admin.site.unregister(SocialApp)
admin.site.unregister(SocialToken)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "is_active", "is_staff", "date_joined"]
    search_fields = ["email"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),
    )


@admin.register(EmailAddress)
class EmailAddressAdmin(AllauthEmailAddressAdmin):
    pass


@admin.register(SocialAccount)
class SocialAccountAdmin(AllauthSocialAccountAdmin):
    pass


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "token_key", "created", "last_used_at", "expiry"]
    search_fields = ["user__email", "name"]
    readonly_fields = ["digest", "token_key", "created", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's secret is shown once, to its owner, when they create it on
        # the site; one made here would have no secret anybody knows.
        return False

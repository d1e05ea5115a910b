from django.contrib import admin
from django.http import HttpRequest

from afterdesk.portal.models import LoginLink, PortalSettings


@admin.register(PortalSettings)
class PortalSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "response_hours_urgent",
        "response_hours_high",
        "response_hours_normal",
        "response_hours_low",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not PortalSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LoginLink)
class LoginLinkAdmin(admin.ModelAdmin):
    """Read-only: support staff can see whether a customer asked for and used a link."""

    list_display = ["customer", "created_at", "expires_at", "used_at", "requested_ip"]
    list_select_related = ["customer"]
    fields = ["customer", "created_at", "expires_at", "used_at", "requested_ip"]
    readonly_fields = ["customer", "created_at", "expires_at", "used_at", "requested_ip"]
    search_fields = ["customer__name", "customer__email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

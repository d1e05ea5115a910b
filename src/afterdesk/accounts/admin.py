from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from afterdesk.accounts.models import ApiToken, Department, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_zh", "handles_kinds", "is_active", "position"]
    list_editable = ["position", "is_active"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active", "departments"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Afterdesk"), {"fields": ("role", "departments", "language")}),
    )
    filter_horizontal = ["departments", "groups", "user_permissions"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]
    list_filter = ["revoked_at"]

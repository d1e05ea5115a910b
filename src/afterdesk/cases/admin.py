from django.contrib import admin
from django.http import HttpRequest

from afterdesk.cases.models import CaseSettings, Category, Tag


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_zh", "parent", "position", "is_active"]
    list_filter = ["parent", "is_active"]
    list_editable = ["position", "is_active"]
    search_fields = ["code", "name_en", "name_zh"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(CaseSettings)
class CaseSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "reopen_window_days", "auto_close_days"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not CaseSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

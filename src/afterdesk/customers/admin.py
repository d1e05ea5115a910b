from django.contrib import admin

from afterdesk.customers.models import (
    ContactPoint,
    Customer,
    Order,
    OrderLine,
    Organisation,
    Product,
    Segment,
)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_zh"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "external_ref"]
    search_fields = ["name", "external_ref"]


class ContactInline(admin.TabularInline):
    model = ContactPoint
    extra = 0
    readonly_fields = ["normalized"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "vip_tier", "segment", "dedicated_agent"]
    list_filter = ["vip_tier", "segment", "language"]
    search_fields = ["name", "email", "phone", "external_ref"]
    raw_id_fields = ["dedicated_agent", "user", "organisation"]
    inlines = [ContactInline]
    list_select_related = ["segment", "dedicated_agent"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "product_line", "warranty_months"]
    search_fields = ["sku", "name"]
    list_filter = ["product_line"]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["reference", "customer", "placed_at", "delivered_at", "total", "currency"]
    search_fields = ["reference"]
    raw_id_fields = ["customer"]
    inlines = [OrderLineInline]
    list_select_related = ["customer"]

from django.contrib import admin
from django.urls import include, path

from afterdesk.api import api
from afterdesk.core.views import healthz, home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("", include("afterdesk.cases.urls")),
    path("accounts/", include("afterdesk.accounts.urls")),
    path("desk/customers/", include("afterdesk.customers.urls")),
    path("desk/rma/", include("afterdesk.rma.urls")),
    path("desk/triage/", include("afterdesk.triage.urls")),
    path("portal/rma/", include("afterdesk.rma.portal_urls")),
    path("portal/", include("afterdesk.portal.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

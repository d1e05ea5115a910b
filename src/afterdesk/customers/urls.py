from django.urls import path

from afterdesk.customers import views

app_name = "customers"
urlpatterns = [
    path("<int:customer_id>", views.customer_panel, name="detail"),
]

from django.urls import path

from afterdesk.rma import portal

app_name = "rma_portal"
urlpatterns = [
    path("<str:number>/return-slip.pdf", portal.slip, name="slip"),
    path("<str:number>/quote", portal.quote, name="quote"),
    path("<str:number>/confirm-receipt", portal.confirm, name="confirm"),
]

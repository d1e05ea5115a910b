from django.urls import path

from afterdesk.rma import views

app_name = "rma"
urlpatterns = [
    path("warehouse", views.warehouse, name="warehouse"),
    path("arrivals", views.arrivals, name="arrivals"),
    path("approvals", views.approvals, name="approvals"),
    path("report", views.report, name="report"),
    path("<str:number>/create", views.create, name="create"),
    path("<str:number>/step", views.step, name="step"),
    path("<str:number>/diagnose", views.diagnose, name="diagnose"),
    path("<str:number>/quick-close", views.quick_close, name="quick_close"),
    path("<str:number>/inspect", views.inspect, name="inspect"),
    path("<str:number>/disposition", views.disposition, name="disposition"),
    path("<str:number>/slip.pdf", views.slip, name="slip"),
    path("<str:number>/compensation", views.propose, name="propose"),
    path("<str:number>/compensation/<int:proposal_id>/decide", views.decide, name="decide"),
]

from django.urls import path

from afterdesk.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("new", views.submit, name="submit"),
    path("submitted/<str:number>", views.submitted, name="submitted"),
    path("login", views.login_request, name="login"),
    path("login/sent", views.login_sent, name="login_sent"),
    path("login/<str:token>", views.login_link, name="login_link"),
    path("logout", views.logout_view, name="logout"),
    path("cases", views.cases, name="cases"),
    path("cases/<str:number>", views.case_detail, name="case"),
    path("cases/<str:number>/reply", views.case_reply, name="case_reply"),
    path("cases/<str:number>/confirm", views.case_confirm, name="case_confirm"),
    path("cases/<str:number>/reopen", views.case_reopen, name="case_reopen"),
    path(
        "cases/<str:number>/files/<int:attachment_id>",
        views.attachment_download,
        name="attachment",
    ),
]

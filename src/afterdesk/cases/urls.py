from django.urls import path

from afterdesk.cases import views

app_name = "cases"
urlpatterns = [
    path("track", views.track, name="track"),
    # The agent workspace.
    path("desk/", views.queue, name="queue"),
    path("desk/bulk", views.bulk, name="bulk"),
    path("desk/views", views.saved_view_create, name="saved_view_create"),
    path("desk/views/<int:view_id>/delete", views.saved_view_delete, name="saved_view_delete"),
    path("desk/call", views.log_call, name="call"),
    path("desk/search", views.search, name="search"),
    path("desk/cases/<str:number>", views.case_detail, name="detail"),
    path("desk/cases/<str:number>/reply", views.case_reply, name="reply"),
    path("desk/cases/<str:number>/transition", views.case_transition, name="transition"),
    path("desk/cases/<str:number>/assign", views.case_assign, name="assign"),
    path("desk/cases/<str:number>/edit", views.case_edit, name="edit"),
    path("desk/cases/<str:number>/links", views.case_link, name="link"),
    path(
        "desk/cases/<str:number>/templates/<int:template_id>",
        views.reply_template_text,
        name="reply_template",
    ),
]

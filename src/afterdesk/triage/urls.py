from django.urls import path

from afterdesk.triage import views

app_name = "triage"
urlpatterns = [
    path("", views.needs_triage, name="needs"),
    path("rules", views.rules, name="rules"),
    path("rules/new", views.rule_edit, name="rule_new"),
    path("rules/<int:rule_id>", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete", views.rule_delete, name="rule_delete"),
    path("agents", views.agents, name="agents"),
    path("agents/away", views.away, name="away"),
    path("agents/<str:username>", views.agent_edit, name="agent_edit"),
    path("setup", views.setup, name="setup"),
    path("setup/routes", views.route_save, name="route_save"),
    path("setup/routes/<int:route_id>/delete", views.route_delete, name="route_delete"),
    path("setup/settings", views.settings_save, name="settings_save"),
    path("setup/models", views.model_train, name="model_train"),
    path("setup/models/<int:version>/activate", views.model_activate, name="model_activate"),
    path("cases/<str:number>/apply", views.case_apply, name="apply"),
    path("cases/<str:number>/run", views.case_run, name="run"),
    path("cases/<str:number>/subtasks", views.subtask_create, name="subtask_create"),
    path(
        "cases/<str:number>/subtasks/<int:task_id>/status",
        views.subtask_status,
        name="subtask_status",
    ),
    path("cases/<str:number>/task-force", views.member_add, name="member_add"),
    path(
        "cases/<str:number>/task-force/<str:username>/remove",
        views.member_remove,
        name="member_remove",
    ),
    path("cases/<str:number>/escalate", views.escalate, name="escalate"),
]

from django.urls import path

from afterdesk.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.logout, name="logout"),
    path("profile", views.profile, name="profile"),
]

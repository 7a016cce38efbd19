from __future__ import annotations

from django.urls import path

from . import views

app_name = "orgs"

# Routes outside any one organization. "new" is a reserved slug, so /dashboard/new/ can never
# be an organization's dashboard.
urlpatterns = [
    path("dashboard/", views.home, name="home"),
    path("dashboard/new/", views.create, name="new"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]

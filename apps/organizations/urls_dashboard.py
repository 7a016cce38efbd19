from django.urls import path

from . import views

app_name = "organizations"

# Below /dashboard/<org_slug>/
urlpatterns = [
    path("", views.overview, name="overview"),
    path("team/", views.members, name="members"),
    path("domains/", views.domains, name="domains"),
    path("audit/", views.audit, name="audit"),
    path("settings/", views.settings_view, name="settings"),
]

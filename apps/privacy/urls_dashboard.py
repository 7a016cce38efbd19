from __future__ import annotations

from django.urls import path

from . import views

app_name = "privacy"

# Below /dashboard/<org_slug>/
urlpatterns = [
    path("settings/export/", views.export, name="export"),
    path("settings/erase/", views.erase_customer, name="erase_customer"),
]

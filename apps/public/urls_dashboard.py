"""Staff pages of the public site, below /dashboard/<org_slug>/: the banner, badge and outage
page an organization puts on its own site."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "embed"

urlpatterns = [
    path("settings/banner/", views.embed_settings, name="settings"),
    path("settings/banner/outage-page.html", views.download_down_page, name="download"),
]

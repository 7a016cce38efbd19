"""Links in forum mail, on the status page's own address (mounted by config/urls_public.py at
`discussions/`): mute one discussion (RFC 8058 one-click) and mute all of the organization's."""

from __future__ import annotations

from django.urls import path

from . import views_notify

app_name = "forum_notify"

urlpatterns = [
    path("mute/<str:token>/", views_notify.mute_thread, name="mute"),
    path("mute-all/<str:token>/", views_notify.mute_all, name="mute_all"),
]

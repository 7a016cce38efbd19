"""Subscription URLs on a status page (mounted at the page root by config/urls_public.py).

apps.notifications.tokens builds the same paths for links in mail, where no request exists.
"""

from __future__ import annotations

from django.urls import path

from . import views_public

app_name = "notifications"

urlpatterns = [
    path("subscribe/", views_public.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>/", views_public.confirm, name="confirm"),
    path("manage/<str:token>/", views_public.manage, name="manage"),
    path("unsubscribe/<str:token>/", views_public.unsubscribe, name="unsubscribe"),
]

"""Inbound alert webhooks: /hooks/<token>/<kind> (kind: alertmanager, grafana, generic), or
/hooks/<kind> with the token in a header (X-Candor-Token, or Authorization: Bearer)."""

from __future__ import annotations

from django.urls import path

from .alerts import views_hooks

app_name = "hooks"

urlpatterns = [
    path("<str:token>/<str:kind>", views_hooks.receive, name="receive"),
    # The same with a trailing slash: people paste URLs both ways, and a POST cannot be
    # redirected to the other form without losing its body.
    path("<str:token>/<str:kind>/", views_hooks.receive, name="receive_slash"),
    # The token in a header rather than the URL, so it stays out of proxies' access logs.
    path("<str:kind>", views_hooks.receive_with_header_token, name="receive_header"),
    path("<str:kind>/", views_hooks.receive_with_header_token, name="receive_header_slash"),
]

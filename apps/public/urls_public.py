"""A status page's public URLs (mounted at the page root by config/urls_public.py).

Two lists: `urlpatterns` (namespace `public`) and `subscription_urlpatterns`, which keeps the
`notifications:` names the subscription pages had before they moved here (templates, tests and
bookmarked links use them; apps.notifications.tokens builds the same paths for links in mail,
where no request exists).

The API v2 paths end in `.json`, so CommonMiddleware's APPEND_SLASH never redirects them
(a client that does not follow redirects must get its 200 directly).
"""

from __future__ import annotations

from django.urls import path

from . import api_v2, badge, down, embed, feeds, language, views_public
from .subscriptions import views_public as subscriptions

app_name = "public"

urlpatterns = [
    path("", views_public.page, name="page"),
    path("history/", views_public.history, name="history"),
    path("incidents/<slug:public_id>/", views_public.incident, name="incident"),
    # Polled by static/js/live.js: 304 until the content version changes, then the page.
    path("live/", views_public.page_live, name="page-live"),
    path("incidents/<slug:public_id>/live/", views_public.incident_live, name="incident-live"),
    # The language switcher: sets the reader's `candor_language` cookie (apps/public/language.py).
    path("language/<str:code>/", language.switch, name="language"),
    # The banner for the organization's own site, the outage page and the status badge.
    path("embed.js", embed.script, name="embed-js"),
    path("embed.json", embed.data, name="embed-json"),
    path("down/", down.down, name="down"),
    path("badge.svg", badge.badge, name="badge"),
    # Feeds: Statuspage's names and the DESIGN.md aliases serve the same documents.
    path("history.atom", feeds.atom, name="history-atom"),
    path("history.rss", feeds.rss, name="history-rss"),
    path("feed.atom", feeds.atom, name="feed-atom"),
    path("feed.rss", feeds.rss, name="feed-rss"),
    path("maintenance.ics", feeds.maintenance_ics, name="maintenance-ics"),
    # Status API v2 (shared/reference/status-api-v2.md).
    path("api/v2/summary.json", api_v2.summary, name="api-v2-summary"),
    path("api/v2/status.json", api_v2.status, name="api-v2-status"),
    path("api/v2/components.json", api_v2.components, name="api-v2-components"),
    path("api/v2/incidents.json", api_v2.incidents, name="api-v2-incidents"),
    path(
        "api/v2/incidents/unresolved.json",
        api_v2.incidents_unresolved,
        name="api-v2-incidents-unresolved",
    ),
    path(
        "api/v2/scheduled-maintenances.json",
        api_v2.scheduled_maintenances,
        name="api-v2-scheduled-maintenances",
    ),
    path(
        "api/v2/scheduled-maintenances/upcoming.json",
        api_v2.scheduled_maintenances_upcoming,
        name="api-v2-scheduled-maintenances-upcoming",
    ),
    path(
        "api/v2/scheduled-maintenances/active.json",
        api_v2.scheduled_maintenances_active,
        name="api-v2-scheduled-maintenances-active",
    ),
]

# Mounted by config/urls_public.py under the `notifications` namespace.
subscription_urlpatterns = [
    path("subscribe/", subscriptions.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>/", subscriptions.confirm, name="confirm"),
    path("manage/<str:token>/", subscriptions.manage, name="manage"),
    path("unsubscribe/<str:token>/", subscriptions.unsubscribe, name="unsubscribe"),
]

"""Staff pages for subscribers and deliveries, below /dashboard/<org_slug>/."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("subscribers/", views.subscriber_list, name="subscribers"),
    path("subscribers/import/", views.subscriber_import, name="subscriber_import"),
    path("subscribers/export.csv", views.subscriber_export, name="subscriber_export"),
    path(
        "subscribers/<str:subscriber_id>/remove/",
        views.subscriber_remove,
        name="subscriber_remove",
    ),
    path(
        "subscribers/<str:subscriber_id>/discussion-events/",
        views.subscriber_discussion_events,
        name="subscriber_discussion_events",
    ),
    path("notifications/", views.event_list, name="events"),
    path("notifications/settings/", views.notification_settings, name="settings"),
    path("notifications/<str:event_id>/", views.event_detail, name="event"),
    path("notifications/<str:event_id>/retry/", views.event_retry, name="event_retry"),
]

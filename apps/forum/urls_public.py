"""The forum's actions on a status page's incident page (namespace `forum`, mounted at the page
root by config/urls_public.py). Every one is a POST; reading is the incident page itself
(`public:incident`, with `?show=` and `?page=`)."""

from __future__ import annotations

from django.urls import path

from . import views_public

app_name = "forum"

INCIDENT = "incidents/<slug:public_id>/"
COMMENT = INCIDENT + "comments/<slug:comment_id>/"

urlpatterns = [
    path(INCIDENT + "comments/", views_public.post, name="post"),
    path(COMMENT + "edit/", views_public.edit, name="edit"),
    path(COMMENT + "delete/", views_public.delete, name="delete"),
    path(COMMENT + "flag/", views_public.flag, name="flag"),
    path(COMMENT + "moderate/", views_public.moderate, name="moderate"),
    path(INCIDENT + "moderate/", views_public.moderate_thread, name="moderate-thread"),
    path(INCIDENT + "affected/", views_public.affected, name="affected"),
    # Polled by static/js/forum.js on a closed incident: 304 until the thread's version changes.
    path(INCIDENT + "discussion/live/", views_public.discussion_live, name="live"),
]

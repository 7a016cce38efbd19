from __future__ import annotations

from django.urls import path

from . import views

app_name = "forum"

# Below /dashboard/<org_slug>/
urlpatterns = [
    path("forum/queue/", views.queue, name="queue"),
    path("forum/bans/", views.bans, name="bans"),
    path("forum/bans/<int:ban_id>/lift/", views.unban, name="unban"),
    path("forum/settings/", views.forum_settings, name="settings"),
    path("incidents/<str:incident_id>/discussion/", views.discussion, name="discussion"),
    path(
        "maintenance/<str:maintenance_id>/discussion/",
        views.maintenance_discussion,
        name="maintenance_discussion",
    ),
    path("incidents/<str:incident_id>/discussion/lock/", views.lock, name="lock"),
    path("incidents/<str:incident_id>/discussion/slow-mode/", views.slow_mode, name="slow_mode"),
    path("forum/threads/<str:thread_id>/", views.thread_link, name="thread"),
    path("forum/comments/<str:comment_id>/", views.comment_link, name="comment"),
    path("forum/comments/<str:comment_id>/answer/", views.mark_answer, name="answer"),
    path("forum/comments/<str:comment_id>/pin/", views.pin, name="pin"),
    path("forum/comments/<str:comment_id>/hide/", views.hide, name="hide"),
    path("forum/comments/<str:comment_id>/unhide/", views.unhide, name="unhide"),
    path("forum/comments/<str:comment_id>/approve/", views.approve, name="approve"),
    path("forum/comments/<str:comment_id>/remove/", views.remove, name="remove"),
    path("forum/comments/<str:comment_id>/dismiss-flags/", views.dismiss_flags, name="dismiss"),
    path("forum/comments/<str:comment_id>/edit/", views.edit, name="edit"),
    path("forum/comments/<str:comment_id>/ban/", views.ban, name="ban"),
]

from __future__ import annotations

from django.urls import path

from . import views
from .plain import views as plain_views
from .scorecard import views as scorecard_views

app_name = "incidents"

# Below /dashboard/<org_slug>/
urlpatterns = [
    path("incidents/", views.incident_list, name="list"),
    path("incidents/new/", views.incident_new, name="new"),
    path("incidents/backfill/", views.backfill, name="backfill"),
    path("incidents/follow-ups/", views.follow_up_settings, name="follow_up_settings"),
    path("scorecard/", scorecard_views.scorecard, name="scorecard"),
    path("incidents/<str:incident_id>/", views.incident_detail, name="detail"),
    path("incidents/<str:incident_id>/edit/", views.edit_details, name="edit"),
    path("incidents/<str:incident_id>/resolve/", views.resolve, name="resolve"),
    path("incidents/<str:incident_id>/reopen/", views.reopen, name="reopen"),
    path("incidents/<str:incident_id>/delete/", views.delete, name="delete"),
    path("incidents/<str:incident_id>/postmortem/", views.postmortem, name="postmortem"),
    path(
        "incidents/<str:incident_id>/postmortem/publish/",
        views.postmortem_publish,
        name="postmortem_publish",
    ),
    path(
        "incidents/<str:incident_id>/postmortem/unpublish/",
        views.postmortem_unpublish,
        name="postmortem_unpublish",
    ),
    path(
        "incidents/<str:incident_id>/postmortem/delete/",
        views.postmortem_delete,
        name="postmortem_delete",
    ),
    path(
        "incidents/<str:incident_id>/postmortem/action-items/",
        views.action_item_add,
        name="action_item_add",
    ),
    path(
        "incidents/<str:incident_id>/postmortem/action-items/<str:item_id>/",
        views.action_item_edit,
        name="action_item_edit",
    ),
    path(
        "incidents/<str:incident_id>/postmortem/action-items/<str:item_id>/status/",
        views.action_item_status,
        name="action_item_status",
    ),
    path(
        "incidents/<str:incident_id>/postmortem/action-items/<str:item_id>/move/",
        views.action_item_move,
        name="action_item_move",
    ),
    path(
        "incidents/<str:incident_id>/postmortem/action-items/<str:item_id>/delete/",
        views.action_item_delete,
        name="action_item_delete",
    ),
    path(
        "incidents/<str:incident_id>/updates/<str:update_id>/edit/",
        views.edit_update,
        name="edit_update",
    ),
    path("maintenance/", views.maintenance_list, name="maintenance_list"),
    path("maintenance/new/", views.maintenance_new, name="maintenance_new"),
    path("maintenance/<str:maintenance_id>/", views.maintenance_detail, name="maintenance_detail"),
    path(
        "maintenance/<str:maintenance_id>/start/", views.maintenance_start, name="maintenance_start"
    ),
    path(
        "maintenance/<str:maintenance_id>/verify/",
        views.maintenance_verify,
        name="maintenance_verify",
    ),
    path(
        "maintenance/<str:maintenance_id>/complete/",
        views.maintenance_complete,
        name="maintenance_complete",
    ),
    path(
        "maintenance/<str:maintenance_id>/cancel/",
        views.maintenance_cancel,
        name="maintenance_cancel",
    ),
    path(
        "maintenance/<str:maintenance_id>/extend/",
        views.maintenance_extend,
        name="maintenance_extend",
    ),
    # Plain-language help: the organization's word lists, and the findings panel's checks.
    path("plain-language/", plain_views.settings_page, name="plain_settings"),
    path("plain-language/check/", plain_views.check, name="plain_check"),
    path("incident-templates/", views.template_list, name="templates"),
    path("incident-templates/new/", views.template_new, name="template_new"),
    path("incident-templates/defaults/", views.template_defaults, name="template_defaults"),
    path("incident-templates/<str:template_id>/", views.template_edit, name="template_edit"),
    path(
        "incident-templates/<str:template_id>/delete/",
        views.template_delete,
        name="template_delete",
    ),
]

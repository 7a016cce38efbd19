from __future__ import annotations

from django.urls import path

from . import views

app_name = "incidents"

# Below /dashboard/<org_slug>/
urlpatterns = [
    path("incidents/", views.incident_list, name="list"),
    path("incidents/new/", views.incident_new, name="new"),
    path("incidents/backfill/", views.backfill, name="backfill"),
    path("incidents/<str:public_id>/", views.incident_detail, name="detail"),
    path("incidents/<str:public_id>/resolve/", views.resolve, name="resolve"),
    path("incidents/<str:public_id>/reopen/", views.reopen, name="reopen"),
    path("incidents/<str:public_id>/delete/", views.delete, name="delete"),
    path(
        "incidents/<str:public_id>/updates/<str:update_id>/edit/",
        views.edit_update,
        name="edit_update",
    ),
    path("maintenance/", views.maintenance_list, name="maintenance_list"),
    path("maintenance/new/", views.maintenance_new, name="maintenance_new"),
    path("maintenance/<str:public_id>/", views.maintenance_detail, name="maintenance_detail"),
    path("maintenance/<str:public_id>/start/", views.maintenance_start, name="maintenance_start"),
    path(
        "maintenance/<str:public_id>/verify/", views.maintenance_verify, name="maintenance_verify"
    ),
    path(
        "maintenance/<str:public_id>/complete/",
        views.maintenance_complete,
        name="maintenance_complete",
    ),
    path(
        "maintenance/<str:public_id>/cancel/", views.maintenance_cancel, name="maintenance_cancel"
    ),
    path(
        "maintenance/<str:public_id>/extend/", views.maintenance_extend, name="maintenance_extend"
    ),
    path("incident-templates/", views.template_list, name="templates"),
    path("incident-templates/new/", views.template_new, name="template_new"),
    path("incident-templates/defaults/", views.template_defaults, name="template_defaults"),
    path("incident-templates/<str:public_id>/", views.template_edit, name="template_edit"),
    path(
        "incident-templates/<str:public_id>/delete/",
        views.template_delete,
        name="template_delete",
    ),
]

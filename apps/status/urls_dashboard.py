"""Staff pages for components and branding, below /dashboard/<org_slug>/."""

from django.urls import path

from . import views

app_name = "status"

urlpatterns = [
    path("components/", views.components, name="components"),
    path("components/new/", views.component_create, name="component_create"),
    path("components/starter/", views.starter_components, name="starter_components"),
    path("components/<str:public_id>/edit/", views.component_edit, name="component_edit"),
    path("components/<str:public_id>/delete/", views.component_delete, name="component_delete"),
    path(
        "components/<str:public_id>/status/",
        views.component_set_status,
        name="component_set_status",
    ),
    path("components/<str:public_id>/move/", views.component_move, name="component_move"),
    path("components/<str:public_id>/history/", views.component_history, name="component_history"),
    path("component-groups/new/", views.group_create, name="group_create"),
    path("component-groups/<str:public_id>/edit/", views.group_edit, name="group_edit"),
    path("component-groups/<str:public_id>/delete/", views.group_delete, name="group_delete"),
    path("component-groups/<str:public_id>/move/", views.group_move, name="group_move"),
    path("branding/", views.branding, name="branding"),
]

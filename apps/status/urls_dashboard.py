"""Staff pages for components and branding, below /dashboard/<org_slug>/."""

from django.urls import path

from . import views

app_name = "status"

COMPONENT = "components/<str:component_id>/"
GROUP = "component-groups/<str:group_id>/"

urlpatterns = [
    path("components/", views.components, name="components"),
    path("components/new/", views.component_create, name="component_create"),
    path("components/starter/", views.starter_components, name="starter_components"),
    path(COMPONENT + "edit/", views.component_edit, name="component_edit"),
    path(COMPONENT + "delete/", views.component_delete, name="component_delete"),
    path(COMPONENT + "status/", views.component_set_status, name="component_set_status"),
    path(COMPONENT + "move/", views.component_move, name="component_move"),
    path(COMPONENT + "history/", views.component_history, name="component_history"),
    path("component-groups/new/", views.group_create, name="group_create"),
    path(GROUP + "edit/", views.group_edit, name="group_edit"),
    path(GROUP + "delete/", views.group_delete, name="group_delete"),
    path(GROUP + "move/", views.group_move, name="group_move"),
    path("branding/", views.branding, name="branding"),
]

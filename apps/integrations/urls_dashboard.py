from django.urls import path

from . import views

app_name = "integrations"

# Below /dashboard/<org_slug>/
urlpatterns = [
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/new/", views.api_key_create, name="api_key_create"),
    path("api-keys/<str:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]

from django.urls import path

from . import views
from .alerts import views as views_alerts
from .importer import views as views_import

app_name = "integrations"

# Below /dashboard/<org_slug>/
urlpatterns = [
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/new/", views.api_key_create, name="api_key_create"),
    path("api-keys/<str:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    # Inbound alerts.
    path("alerts/", views_alerts.alert_list, name="alerts"),
    path("alerts/new/", views_alerts.alert_create, name="alert_create"),
    path("alerts/<str:integration_id>/", views_alerts.alert_detail, name="alert_detail"),
    path("alerts/<str:integration_id>/rotate/", views_alerts.alert_rotate, name="alert_rotate"),
    path("alerts/<str:integration_id>/toggle/", views_alerts.alert_toggle, name="alert_toggle"),
    path("alerts/<str:integration_id>/delete/", views_alerts.alert_delete, name="alert_delete"),
    path("alerts/drafts/<str:draft_id>/publish/", views_alerts.draft_publish, name="draft_publish"),
    path("alerts/drafts/<str:draft_id>/dismiss/", views_alerts.draft_dismiss, name="draft_dismiss"),
    # Import from another status page.
    path("import/", views_import.import_upload, name="import"),
    path("import/<str:import_id>/confirm/", views_import.import_confirm, name="import_confirm"),
]

"""Application URLs (landing, accounts, dashboard, API). Status pages: config/urls_public.py."""

from django.contrib import admin
from django.urls import include, path

from apps.core import views as core_views

dashboard_org_patterns = [
    path("", include("apps.organizations.urls_dashboard")),
    path("", include("apps.integrations.urls_dashboard")),
    path("", include("apps.status.urls_dashboard")),
    path("", include("apps.incidents.urls_dashboard")),
    path("", include("apps.notifications.urls_dashboard")),
    path("", include("apps.forum.urls_dashboard")),
    path("", include("apps.public.urls_dashboard")),
    path("", include("apps.privacy.urls_dashboard")),
]

urlpatterns = [
    path("", core_views.landing, name="landing"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("accounts/", include("apps.privacy.urls")),
    path("", include("apps.organizations.urls")),
    path("dashboard/<slug:org_slug>/", include(dashboard_org_patterns)),
    path("api/", include("config.api_urls")),
    path("hooks/", include("apps.integrations.urls_hooks")),
    path("admin/", admin.site.urls),
]

# Uploaded logos and favicons (see apps.core.views.branding_file); MEDIA_URL is /media/.
urlpatterns.append(
    path("media/branding/<str:folder>/<str:name>", core_views.branding_file, name="branding_file")
)

"""A status page's URLs, served on its host or below /s/<slug>/ (see TenantMiddleware)."""

from django.urls import include, path

from apps.core import views as core_views
from apps.public.urls_public import subscription_urlpatterns

urlpatterns = [
    path("", include("apps.public.urls_public")),
    # The subscription pages live in apps.public but keep their `notifications:` URL names.
    path("", include((subscription_urlpatterns, "notifications"))),
    # The incident forum's actions on the incident page (namespace `forum`).
    path("", include("apps.forum.urls_public")),
    path("healthz", core_views.healthz),
]

# Uploaded logos and favicons (see apps.core.views.branding_file); MEDIA_URL is /media/.
urlpatterns.append(
    path("media/branding/<str:folder>/<str:name>", core_views.branding_file, name="branding_file")
)

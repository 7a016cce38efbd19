"""A status page's URLs, served on its host or below /s/<slug>/ (see TenantMiddleware)."""

from django.conf import settings
from django.urls import include, path

from apps.core import views as core_views

urlpatterns = [
    path("", include("apps.status.urls_public")),
    path("", include("apps.notifications.urls_public")),
    path("healthz", core_views.healthz),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from . import docs, views

app_name = "api"

# Resources of the management API: other apps register their viewsets (apps.api.base.OrgViewSet
# subclasses) here, e.g. router.register("incidents", IncidentViewSet, basename="incidents").
router = DefaultRouter(trailing_slash=True)

# The schema and its documentation are public: they describe the API, they hold no data.
public = {"authentication_classes": [], "permission_classes": [AllowAny], "throttle_classes": []}

urlpatterns = [
    path("v1/organization/", views.OrganizationView.as_view(), name="organization"),
    path("v1/", include(router.urls)),
    re_path(r"^v1/", views.not_found, name="not_found"),
    path("schema/", SpectacularAPIView.as_view(**public), name="schema"),
    # Server-rendered reference (no CDN, no JavaScript); Redoc for those who prefer it.
    path("docs/", docs.api_docs, name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema", **public), name="redoc"),
]

"""The management API's URLs (/api/...): every app's viewsets registered on one router.

It lives in config/, above every app (docs/architecture.md): the router imports each app's api.py,
and each api.py builds on apps.api's base classes, so apps.api imports none of them.
"""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter, SimpleRouter

from apps.api import docs
from apps.api.views import not_found
from apps.forum.api import (
    CommentViewSet,
    IncidentCommentViewSet,
    IncidentThreadViewSet,
    MaintenanceCommentViewSet,
    MaintenanceThreadViewSet,
)
from apps.incidents.api import (
    IncidentTemplateViewSet,
    IncidentViewSet,
    MaintenanceViewSet,
    PostmortemViewSet,
)
from apps.incidents.plain.api import TextCheckView
from apps.incidents.scorecard.api import IncidentScorecardViewSet, ScorecardView
from apps.integrations.alerts.api import AlertIntegrationViewSet
from apps.integrations.api import ApiKeyViewSet
from apps.notifications.api import (
    NotificationEventViewSet,
    NotificationSettingsView,
    SubscriberViewSet,
)
from apps.organizations.api import AuditLogViewSet, OrganizationView
from apps.status.api import ComponentGroupViewSet, ComponentViewSet

app_name = "api"


class Router(DefaultRouter):
    # JSON only: no `.json` format-suffix twins of every route.
    include_format_suffixes = False


# Resources of the management API: each app's api.py holds its viewsets (apps.api.base.OrgViewSet
# subclasses); they are registered here. path() routes (not regexes), so URL parameters read as
# <str:incident_id> for the schema, the docs and the URL-walking tenancy test.
router = Router(trailing_slash=True, use_regex_path=False)
router.register("components", ComponentViewSet, basename="components")
router.register("component-groups", ComponentGroupViewSet, basename="component-groups")
router.register("incidents", IncidentViewSet, basename="incidents")
router.register("maintenances", MaintenanceViewSet, basename="maintenances")
router.register("templates", IncidentTemplateViewSet, basename="templates")
router.register("subscribers", SubscriberViewSet, basename="subscribers")
router.register("notification-events", NotificationEventViewSet, basename="notification-events")
router.register("audit-log", AuditLogViewSet, basename="audit-log")
router.register("api-keys", ApiKeyViewSet, basename="api-keys")
router.register("integrations", AlertIntegrationViewSet, basename="integrations")
router.register("comments", CommentViewSet, basename="comments")

# Resources nested below another's detail URL, with no root-view entry: an incident's postmortem
# and its action items, and an incident's or maintenance's discussion (its settings, and its
# comments: a list whose prefix names the incident, found through the key's organization).
nested = SimpleRouter(trailing_slash=True, use_regex_path=False)
nested.register("incidents", PostmortemViewSet, basename="incident-postmortem")
nested.register("incidents", IncidentScorecardViewSet, basename="incident-scorecard")
nested.register("incidents", IncidentThreadViewSet, basename="incident-thread")
nested.register("maintenances", MaintenanceThreadViewSet, basename="maintenance-thread")
nested.register(
    "incidents/<str:incident_id>/comments", IncidentCommentViewSet, basename="incident-comments"
)
nested.register(
    "maintenances/<str:maintenance_id>/comments",
    MaintenanceCommentViewSet,
    basename="maintenance-comments",
)

# The schema and its documentation are public: they describe the API, they hold no data.
public = {"authentication_classes": [], "permission_classes": [AllowAny], "throttle_classes": []}

urlpatterns = [
    path("v1/organization/", OrganizationView.as_view(), name="organization"),
    path(
        "v1/notification-settings/",
        NotificationSettingsView.as_view(),
        name="notification-settings",
    ),
    path("v1/text-check/", TextCheckView.as_view(), name="text-check"),
    path("v1/scorecard/", ScorecardView.as_view(), name="scorecard"),
    path("v1/", include(router.urls + nested.urls)),
    re_path(r"^v1/", not_found, name="not_found"),
    path("schema/", SpectacularAPIView.as_view(**public), name="schema"),
    # Server-rendered reference (no CDN, no JavaScript); Redoc for those who prefer it.
    path("docs/", docs.api_docs, name="docs"),
    path(
        "redoc/",
        csp_update({"worker-src": [SELF, "blob:"]})(
            docs.RedocView.as_view(url_name="api:schema", **public)
        ),
        name="redoc",
    ),
]

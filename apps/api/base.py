"""The one base class for management API viewsets. Scoping cannot be skipped.

Subclasses declare `queryset` (an org-owned model's manager) and may narrow it in
`filter_queryset_for_request`; they never override get_queryset, get_object or get_permissions
(PostHog's `routing.py` habit, enforced by __init_subclass__).
"""

from __future__ import annotations

from rest_framework import viewsets

from .permissions import HasApiKeyScope

FORBIDDEN_OVERRIDES = ("get_queryset", "get_object", "get_permissions")


class OrgViewSetMixin:
    permission_classes = [HasApiKeyScope]
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in FORBIDDEN_OVERRIDES:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} overrides {name}(); org scoping lives in OrgViewSetMixin. "
                    "Implement filter_queryset_for_request() instead."
                )

    @property
    def organization(self):
        # SECURITY: the organization comes from the authenticated API key, never the request.
        return self.request.auth.organization

    def get_queryset(self):
        return self.filter_queryset_for_request(self.queryset.for_org(self.organization))

    def filter_queryset_for_request(self, queryset):
        return queryset

    def get_permissions(self):
        return [permission() for permission in self.permission_classes]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["organization"] = getattr(self.request, "auth", None) and self.organization
        return context


class OrgViewSet(OrgViewSetMixin, viewsets.ModelViewSet):
    pass


class OrgReadOnlyViewSet(OrgViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass

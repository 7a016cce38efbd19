"""The one base class for management API viewsets. Scoping cannot be skipped.

Subclasses declare `queryset` (an org-owned model's manager) and may narrow it in
`filter_queryset_for_request`; they never override get_queryset, get_object, get_permissions or
get_authenticators (PostHog's `routing.py` habit, enforced by __init_subclass__). Serializers
find the organization in their context (`self.context["organization"]`) and pass it to services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import mixins, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.settings import api_settings

from . import idempotency
from .credentials import credential_of
from .fields import PUBLIC_ID
from .filters import QueryFilterBackend
from .permissions import HasApiKeyScope

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.permissions import _SupportsHasPermission
    from rest_framework.request import Request
    from rest_framework.response import Response

if TYPE_CHECKING:
    # For mypy the mixin is the GenericViewSet every class using it also is (that is where its
    # request, queryset and super() calls come from); at run time it stays a plain mixin.
    _MixinBase = viewsets.GenericViewSet
else:
    _MixinBase = object

FORBIDDEN_OVERRIDES = ("get_queryset", "get_object", "get_permissions", "get_authenticators")


class OrgViewSetMixin(_MixinBase):
    # Authentication is the project's API key authentication, configured in
    # REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] (apps.integrations.authentication: the
    # key model lives above this floor). Subclasses may not set authentication_classes.
    permission_classes = [HasApiKeyScope]
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    # No OPTIONS metadata: it would describe endpoints the schema already documents, and answer
    # 200 on another organization's URLs where every other method answers 404.
    metadata_class = None
    # Query-parameter filters and ordering, declared per viewset with filter_serializer_class
    # (see apps.api.filters); list views only.
    filter_backends = [QueryFilterBackend]
    filter_serializer_class: type | None = None
    # Response fields never stored for Idempotency-Key replays (secrets shown once).
    idempotency_redact: tuple[str, ...] = ()
    _idempotency_claim: idempotency.Claim | None = None
    # Each subclass sets queryset to an org-owned model's manager (one with for_org()). Only
    # an annotation: no class attribute is created here.
    queryset: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in FORBIDDEN_OVERRIDES:
            # SECURITY: compare what the class resolves to, not only cls.__dict__, so an
            # override brought in by another mixin placed before this one is refused too.
            if getattr(cls, name) is not getattr(OrgViewSetMixin, name):
                raise TypeError(
                    f"{cls.__name__} overrides {name}(); org scoping lives in OrgViewSetMixin. "
                    "Implement filter_queryset_for_request() instead."
                )
        if "authentication_classes" in cls.__dict__:
            raise TypeError(f"{cls.__name__} sets authentication_classes; API keys only.")

    @property
    def organization(self) -> Model:
        # SECURITY: the organization comes from the authenticated API key, never the request.
        # (An apps.organizations Organization; not imported: this floor is below that app.)
        return credential_of(self.request).organization

    @property
    def principal(self) -> Any:
        """Who acts: the key's ApiKeyPrincipal (apps.organizations.principals, a floor above;
        the key builds it), which services take as `actor` and which checks the key's scope."""
        return credential_of(self.request).principal

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            # drf-spectacular inspects the view without a key; it only needs the model.
            return self.queryset.none()
        return self.filter_queryset_for_request(self.queryset.for_org(self.organization))

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        """Narrow the organization's rows for this request (filters, select_related)."""
        return queryset

    def get_object(self) -> Model:
        # The lookup runs on get_queryset(), so another organization's id is a 404. A value that
        # cannot be a public id is a 404 without a query (PostgreSQL refuses NUL characters with
        # an error, not an empty result).
        if not PUBLIC_ID.match(str(self.kwargs.get(self.lookup_url_kwarg, ""))):
            # The same words as DRF's own 404 for a well-formed id that matches nothing.
            raise Http404(f"No {self.queryset.model._meta.object_name} matches the given query.")
        return super().get_object()

    def get_permissions(self) -> list[_SupportsHasPermission]:
        # SECURITY: the key scope check always runs first; subclasses may add permissions with
        # permission_classes but cannot drop this one.
        extra = [p() for p in self.permission_classes if p is not HasApiKeyScope]
        return [HasApiKeyScope(), *extra]

    def get_authenticators(self) -> list[BaseAuthentication]:
        # SECURITY: the configured API key authentication only, read when the request comes
        # (not frozen at import), whatever a subclass or mixin declares.
        return [
            auth()  # type: ignore[operator]  # the stubs type the setting as dotted paths; api_settings imports them
            for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES
        ]

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        has_key = self.request is not None and getattr(self.request, "auth", None) is not None
        context["organization"] = self.organization if has_key else None
        context["principal"] = self.principal if has_key else None
        return context

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        """Apply the validated query parameters of filter_serializer_class (list views)."""
        return queryset

    # --- request cycle: idempotency, and 404 before 405 -------------------------------------

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        self._idempotency_claim = None
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            idempotency.abandon(self._idempotency_claim)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, scope, throttling
        request.principal = self.principal  # type: ignore[attr-defined]
        self._idempotency_claim = idempotency.begin(request)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._idempotency_claim is not None and not self._idempotency_claim.finished:
            idempotency.finish(self._idempotency_claim, response, redact=self.idempotency_redact)
        return response

    def http_method_not_allowed(  # type: ignore[override]  # DRF passes its Request (as APIView's own)
        self, request: Request, *args: Any, **kwargs: Any
    ) -> Any:
        # SECURITY: on a URL naming another organization's object, every method answers 404,
        # the same as for a missing object; a 405 would be the only different answer.
        if self.lookup_url_kwarg in kwargs:
            self.get_object()
        return super().http_method_not_allowed(request, *args, **kwargs)


class OrgViewSet(OrgViewSetMixin, viewsets.ModelViewSet):
    pass


class OrgReadOnlyViewSet(OrgViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class OrgListViewSet(OrgViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """List only (e.g. the audit log: its rows have no public id to address them by)."""

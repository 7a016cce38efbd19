from __future__ import annotations

from types import SimpleNamespace

import pytest
from rest_framework.permissions import AllowAny

from apps.api.base import OrgReadOnlyViewSet, OrgViewSet
from apps.api.permissions import HasAdminScope, HasApiKeyScope
from apps.integrations.authentication import ApiKeyAuthentication
from apps.integrations.models import ApiKey
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.urls("tests.api.urls_testing")


@pytest.mark.parametrize("method", ["get_queryset", "get_object", "get_permissions"])
def test_a_subclass_overriding_a_scoping_method_is_refused_at_class_creation(method):
    with pytest.raises(TypeError, match=method):
        type("LeakyViewSet", (OrgViewSet,), {method: lambda self: None})


def test_an_override_brought_in_by_a_mixin_is_refused_too():
    class UnscopedMixin:
        def get_queryset(self):
            return ApiKey.objects.all()

    with pytest.raises(TypeError, match="get_queryset"):
        type("LeakyViewSet", (UnscopedMixin, OrgReadOnlyViewSet), {})


def test_a_subclass_cannot_choose_its_own_authentication():
    with pytest.raises(TypeError, match="authentication_classes"):
        type("OpenViewSet", (OrgViewSet,), {"authentication_classes": [ApiKeyAuthentication]})


def test_viewsets_authenticate_with_the_configured_api_key_authentication():
    viewset = type("Plain", (OrgViewSet,), {})()

    assert [type(a) for a in viewset.get_authenticators()] == [ApiKeyAuthentication]


def test_the_scope_checks_accept_an_api_key_and_nothing_that_merely_looks_like_one(db):
    key = ApiKeyFactory(scope=ApiKey.Scope.ADMIN)
    lookalike = SimpleNamespace(
        organization=key.organization, is_active=True, can_write=True, can_admin=True
    )

    def allowed(permission, auth):
        return permission.has_permission(SimpleNamespace(auth=auth, method="POST"), None)

    assert allowed(HasApiKeyScope(), key)
    assert allowed(HasAdminScope(), key)
    assert not allowed(HasApiKeyScope(), lookalike)
    assert not allowed(HasAdminScope(), lookalike)
    assert not allowed(HasApiKeyScope(), None)


def test_permission_classes_add_to_the_key_scope_check_but_never_replace_it():
    viewset = type("Open", (OrgViewSet,), {"permission_classes": [AllowAny]})()

    kinds = [type(permission).__name__ for permission in viewset.get_permissions()]

    assert kinds == ["HasApiKeyScope", "AllowAny"]


def test_a_key_lists_only_its_own_organizations_rows(api, api_key, read_only_key, other_api_key):
    response = api(api_key).get("/api/v1/keys/")

    ids = {row["id"] for row in response.json()["results"]}
    assert response.status_code == 200
    assert ids == {api_key.public_id, read_only_key.public_id}


def test_a_row_of_another_organization_is_a_404_like_a_missing_one(api, api_key, other_api_key):
    client = api(api_key)

    other = client.get(f"/api/v1/keys/{other_api_key.public_id}/")
    missing = client.get("/api/v1/keys/nosuchkey123/")

    assert other.status_code == 404
    assert other.json() == missing.json() == {"detail": "No ApiKey matches the given query."}


def test_a_read_only_key_gets_403_on_a_write_endpoint_and_a_write_key_passes(
    api, api_key, read_only_key
):
    url = f"/api/v1/keys/{api_key.public_id}/ping/"

    assert api(read_only_key).post(url).status_code == 403
    assert api(api_key).post(url).status_code == 204


def test_a_write_key_cannot_write_to_another_organizations_row(api, api_key, other_api_key):
    response = api(api_key).post(f"/api/v1/keys/{other_api_key.public_id}/ping/")

    assert response.status_code == 404


def test_lists_are_cursor_paginated(api, api_key, org, django_assert_max_num_queries):
    ApiKeyFactory.create_batch(4, organization=org)
    client = api(api_key)

    with django_assert_max_num_queries(3):
        first = client.get("/api/v1/keys/?limit=3").json()
    second = client.get(first["next"]).json()

    assert len(first["results"]) == 3
    assert len(second["results"]) == 2
    assert first["previous"] is None
    assert second["next"] is None
    assert "cursor=" in first["next"]

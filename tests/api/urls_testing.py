"""A URLconf with a throwaway OrgViewSet over ApiKey, to test what every resource inherits."""

from __future__ import annotations

from django.urls import include, path
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from apps.api.base import OrgReadOnlyViewSet
from apps.integrations.models import ApiKey


class KeySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")

    class Meta:
        model = ApiKey
        fields = ["id", "name"]


class KeyViewSet(OrgReadOnlyViewSet):
    queryset = ApiKey.objects.all()
    serializer_class = KeySerializer

    @action(detail=True, methods=["post"])
    def ping(self, request, id=None):
        """A write that changes nothing: shows what a write endpoint's permission does."""
        self.get_object()
        return Response(status=status.HTTP_204_NO_CONTENT)


router = DefaultRouter()
router.register("keys", KeyViewSet, basename="keys")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("", include("config.urls")),
]

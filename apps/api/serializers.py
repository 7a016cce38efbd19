from __future__ import annotations

from rest_framework import serializers

from apps.organizations.models import Organization


class ErrorSerializer(serializers.Serializer):
    """Every error body: `{"detail": "..."}` (plus field names for 400s)."""

    detail = serializers.CharField()


class OrganizationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="public_id", read_only=True, help_text="Short random identifier, e.g. p31zjtct2jer."
    )
    # A plain string in the schema: the choices are every IANA zone, ~400 values.
    timezone = serializers.CharField(read_only=True, help_text="IANA time zone, e.g. Europe/Paris.")
    page_url = serializers.URLField(
        source="public_url", read_only=True, help_text="The public status page."
    )

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "timezone", "page_url", "created_at"]
        read_only_fields = fields
        extra_kwargs = {
            "slug": {"help_text": "The page's address: <slug>.<status domain> and /s/<slug>/."},
        }

from __future__ import annotations

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every error body: `{"detail": "..."}` (plus field names for 400s)."""

    detail = serializers.CharField()

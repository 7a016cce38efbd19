"""Serializer building blocks shared by every resource's api.py.

- StrictSerializerMixin: unknown (or read-only) fields in a body are a 400 naming them, instead of
  DRF's silent ignoring, so a misspelt field never looks like it worked.
- OrgObjectField / OrgObjectListField: a public id in a body resolved to an object of the key's
  organization. SECURITY: lookups go through `for_org(organization)`, so another organization's id
  is "unknown", exactly like a missing one, and nothing is written.
- OrgObjectMapField: `{"<public id>": value}`, the ids resolved in one query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.dates import reject_outside_window
from apps.core.validators import NAME_FIELDS, guard_text_fields

# Public ids are 12 lowercase base-36 characters (apps.core.ids); anything else cannot exist, so
# it is refused without a query (and strings the database would choke on never reach it).
PUBLIC_ID = re.compile(r"^[a-z0-9]{1,32}$")
MAX_IDS_PER_REQUEST = 500


def organization_of(field: serializers.Field) -> Any:
    organization = field.context.get("organization")
    if organization is None:
        raise RuntimeError("Serializer context has no organization (use an OrgViewSet).")
    return organization


def _format_ids(ids: list[str]) -> str:
    shown = ", ".join(f"“{value}”" for value in ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def resolve_ids(
    field: serializers.Field, model: type[Model], ids: list[str], label: str
) -> dict[str, Model]:
    """{public id: object} for ids of the key's organization; a ValidationError names the rest."""
    unknown = [value for value in ids if not PUBLIC_ID.match(value)]
    wellformed = [value for value in ids if PUBLIC_ID.match(value)]
    found = {
        obj.public_id: obj
        # model is org-owned: its objects manager has for_org(); Model's type has neither.
        for obj in model.objects.for_org(  # type: ignore[attr-defined]
            organization_of(field)
        ).filter(public_id__in=wellformed)
    }
    unknown += [value for value in wellformed if value not in found]
    if unknown:
        noun = label if len(unknown) == 1 else f"{label}s"
        raise serializers.ValidationError(f"Unknown {noun}: {_format_ids(unknown)}.")
    return found


# JSON types each kind of field accepts. DRF coerces (0 → "0", "yes" → true); a typed client
# should hear it sent the wrong type instead (and the schema says so).
STRING_FIELDS = (
    serializers.CharField,
    serializers.ChoiceField,
    serializers.DateTimeField,
    serializers.DateField,
)


def wrong_type(field: serializers.Field, value: Any) -> str | None:
    """The message for a value of the wrong JSON type, or None when the type is right."""
    if value is None:
        return None  # DRF reports null on a non-nullable field itself
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "Must be true or false."
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return "Must be an integer."
    takes_string = isinstance(field, STRING_FIELDS) or getattr(field, "takes_string", False)
    if takes_string and not isinstance(field, serializers.MultipleChoiceField):
        return None if isinstance(value, str) else "Must be a string."
    return None


# Times staff give for incidents and maintenance: within apps/core/dates.py's window. (A promise,
# `next_update_due`, has its own narrower rule: within 7 days.)
WINDOWED_TIMES = frozenset(
    {"scheduled_for", "scheduled_until", "started_at", "resolved_at", "display_at"}
)


class StrictSerializerMixin:
    """Refuse fields the serializer does not accept, naming them, and values of the wrong type;
    give every writable text field the text rule and names the name rule
    (apps/core/validators.py), so a control character is a 400 naming the field, and the
    incident and maintenance times (WINDOWED_TIMES) the window of apps/core/dates.py."""

    name_fields: frozenset[str] = NAME_FIELDS

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]  # the serializer's, after the mixin
        guard_text_fields(fields.items(), names=self.name_fields)
        for name, field in fields.items():
            windowed = name in WINDOWED_TIMES and not field.read_only
            if windowed and reject_outside_window not in field.validators:
                field.validators.append(reject_outside_window)
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {}
            for name, value in data.items():
                field = self.fields.get(name)  # type: ignore[attr-defined]  # mixed into serializers
                if field is None:
                    errors[str(name)] = ["Unknown field."]
                elif field.read_only:
                    errors[str(name)] = ["This field is read-only."]
                elif message := wrong_type(field, value):
                    errors[str(name)] = [message]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]  # the serializer's, after the mixin


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    pass


@extend_schema_field({"type": "string", "nullable": True, "example": "k3x9ftq2b7lm"})
class OrgObjectField(serializers.Field):
    """One object of the key's organization, by public id (null allowed with allow_null)."""

    takes_string = True

    def __init__(self, *, model: type[Model], label_name: str, **kwargs: Any) -> None:
        self.model = model
        self.label_name = label_name
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return value.public_id if value is not None else None

    def to_internal_value(self, data: Any) -> Model:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Give the {self.label_name} id as a string.")
        return resolve_ids(self, self.model, [data], self.label_name)[data]


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "example": "k3x9ftq2b7lm"}, "maxItems": 500}
)
class OrgObjectListField(serializers.ListField):
    """A list of public ids of the key's organization → list of objects (one query)."""

    def __init__(self, *, model: type[Model], label_name: str, **kwargs: Any) -> None:
        self.model = model
        self.label_name = label_name
        kwargs.setdefault("child", serializers.CharField())
        kwargs.setdefault("max_length", MAX_IDS_PER_REQUEST)
        super().__init__(**kwargs)

    def to_representation(self, data: Any) -> list[str]:
        return [obj.public_id for obj in (data.all() if hasattr(data, "all") else data)]

    def to_internal_value(self, data: Any) -> list[Model]:
        ids = list(dict.fromkeys(super().to_internal_value(data)))  # drop repeats, keep order
        found = resolve_ids(self, self.model, ids, self.label_name)
        return [found[value] for value in ids]


class OrgObjectMapField(serializers.DictField):
    """`{"<public id>": <value>}` → {object of the key's organization: value} (one query).

    Domain apps name the model and the value field (e.g. apps.incidents.api_fields'
    ComponentStatusMapField: component id → component status).
    """

    def __init__(
        self, *, model: type[Model], label_name: str, plural_name: str, **kwargs: Any
    ) -> None:
        self.model = model
        self.label_name = label_name
        self.plural_name = plural_name
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[Model, Any]:
        values: dict[str, Any] = super().to_internal_value(data)
        if len(values) > MAX_IDS_PER_REQUEST:
            raise serializers.ValidationError(
                f"At most {MAX_IDS_PER_REQUEST} {self.plural_name} per request."
            )
        found = resolve_ids(self, self.model, list(values), self.label_name)
        return {found[public_id]: value for public_id, value in values.items()}

    def to_representation(self, value: Any) -> dict[str, Any]:
        return {obj.public_id: item for obj, item in value.items()}

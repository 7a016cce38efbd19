"""Fields of the incidents API that know other apps' models and value sets.

They live here, not in apps.api, because the API's base classes sit below every domain app in the
layers (docs/architecture.md).

Enum value sets, named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]: several fields are called
`status` or `impact` with different value sets (a component's, an incident's, a maintenance's, the
subset an incident can be opened with...). drf-spectacular would name them Status1ceEnum and the
like; these give each set a name that says what it is.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.api.fields import OrgObjectMapField
from apps.status.models import Component, ComponentStatus

from .models import UNRESOLVED_INCIDENT, IncidentStatus, MaintenanceStatus
from .services import INCIDENT_IMPACTS

OPEN_INCIDENT_STATUS = [(s.value, s.label) for s in UNRESOLVED_INCIDENT]
INCIDENT_UPDATE_STATUS = [
    *OPEN_INCIDENT_STATUS,
    (IncidentStatus.RESOLVED.value, IncidentStatus.RESOLVED.label),
]
ANY_STATUS = [*IncidentStatus.choices, *MaintenanceStatus.choices]
INCIDENT_IMPACT = [(i.value, i.label) for i in INCIDENT_IMPACTS]


class ComponentStatusMapField(OrgObjectMapField):
    """`{"<component id>": "<component status>"}` → {Component: status}."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.ChoiceField(choices=ComponentStatus.choices))
        kwargs.setdefault(
            "help_text",
            "Components to change, as a map of component id to its new status, e.g. "
            '`{"k3x9ftq2b7lm": "major_outage"}`. Components of the incident not listed keep '
            "their status.",
        )
        super().__init__(
            model=Component, label_name="component id", plural_name="components", **kwargs
        )


__all__ = [
    "ANY_STATUS",
    "INCIDENT_IMPACT",
    "INCIDENT_UPDATE_STATUS",
    "OPEN_INCIDENT_STATUS",
    "ComponentStatusMapField",
]

"""Value sets of the management API's enums, named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].

Several fields are called `status` or `impact` with different value sets (a component's, an
incident's, a maintenance's, the subset an incident can be opened with...). drf-spectacular would
name them Status1ceEnum and the like; these give each set a name that says what it is.
"""

from __future__ import annotations

from apps.incidents.models import UNRESOLVED_INCIDENT, IncidentStatus, MaintenanceStatus
from apps.incidents.services import INCIDENT_IMPACTS

OPEN_INCIDENT_STATUS = [(s.value, s.label) for s in UNRESOLVED_INCIDENT]
INCIDENT_UPDATE_STATUS = [
    *OPEN_INCIDENT_STATUS,
    (IncidentStatus.RESOLVED.value, IncidentStatus.RESOLVED.label),
]
ANY_STATUS = [*IncidentStatus.choices, *MaintenanceStatus.choices]
INCIDENT_IMPACT = [(i.value, i.label) for i in INCIDENT_IMPACTS]

__all__ = ["ANY_STATUS", "INCIDENT_IMPACT", "INCIDENT_UPDATE_STATUS", "OPEN_INCIDENT_STATUS"]

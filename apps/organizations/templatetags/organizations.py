"""Template access to the one permission table: `{% if request.membership|can:"audit.view" %}`."""

from __future__ import annotations

from django import template

from apps.organizations.models import Membership

register = template.Library()


@register.filter
def can(membership: Membership | None, permission: str) -> bool:
    return membership is not None and membership.can(permission)

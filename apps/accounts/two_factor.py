"""Whether people have two-factor authentication (allauth.mfa owns setting it up).

Read by organizations that require it of their members (apps/organizations/tenancy.py) and by
the team page. An authenticator app (TOTP) counts; recovery codes alone do not (allauth makes
them only alongside an authenticator, and they are a fallback, not a second factor of their own).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from allauth.mfa.models import Authenticator

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from .models import User

#: Authenticator kinds that are a second factor (MFA_SUPPORTED_TYPES minus recovery codes).
SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]

#: Where a member sent to set up two-factor authentication returns to afterwards: the dashboard
#: page they asked for (allauth's setup views end on the recovery codes, which link back to it).
RETURN_SESSION_KEY = "two_factor_return"


def has_two_factor(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS).exists()


def users_with_two_factor(user_ids: Iterable[int]) -> set[int]:
    """Which of these users have two-factor authentication, in one query."""
    return set(
        Authenticator.objects.filter(user_id__in=list(user_ids), type__in=SECOND_FACTORS)
        .values_list("user_id", flat=True)
        .distinct()
    )

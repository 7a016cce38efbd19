"""Writes to a user's own account that allauth does not handle (allauth owns email, password
and two-factor changes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

if TYPE_CHECKING:
    from .models import User


@transaction.atomic
def update_profile(user: User, *, display_name: str) -> User:
    # No AuditEntry: audit rows belong to an organization, and a profile belongs to none.
    user.display_name = " ".join(display_name.split())
    user.save(update_fields=["display_name"])
    return user


@transaction.atomic
def create_commenter_account(email: str) -> User:
    """An account for someone who asked for a sign-in code on a status page: no password (they
    sign in by code, and may set one later in their profile), the address unverified until the
    code they were mailed is entered (allauth's login-by-code flow then marks it verified).

    The address must not belong to an account yet; a concurrent request that created it first
    wins and its account is returned."""
    from allauth.account.models import EmailAddress

    from .models import User as Account

    email = email.strip().lower()
    try:
        with transaction.atomic():
            user = Account.objects.create_user(email, password=None)
    except IntegrityError:
        return Account.objects.get(email=email)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    return user


@transaction.atomic
def forget_unverified_password(user: User) -> None:
    """Called when someone proves they own an account's address for the first time (a sign-in
    code mailed to it): a password set before that was set by someone who had not proved it,
    perhaps not the owner (pre-account takeover), so it stops working. The owner can set one
    in their profile."""
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])

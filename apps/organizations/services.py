"""Every write to organizations, memberships, invitations and domains goes through here.

Each function is one staff action: it asks its principal (`actor`, apps.organizations.principals)
whether the permission table allows it (views check the coarse permission through `org_view`;
the checks here, and the finer rules about owners, hold whoever calls), writes inside a
transaction and records one AuditEntry.

Two services take a signed-in User rather than a principal, because the user is not a member
yet: create_organization (the creator becomes its first owner) and accept_invitation.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core import i18n
from apps.core.links import absolute_url
from apps.core.locking import lock_again

from . import dns as org_dns
from . import published
from .models import (
    RESERVED_SLUGS,
    TIMEZONE_CHOICES,
    AuditEntry,
    BannerPosition,
    Domain,
    Invitation,
    Membership,
    Organization,
    PageAccessToken,
    Visibility,
    color_validator,
    hash_page_token,
    new_nonce,
    slug_validator,
)
from .principals import Member
from .roles import Role, assignable_roles

if TYPE_CHECKING:
    from apps.accounts.models import User

    from .principals import Principal

logger = logging.getLogger(__name__)

INVITATION_SALT = "candor.organizations.invitation"
VALID_TIMEZONES = frozenset(tz for tz, _label in TIMEZONE_CHOICES)


class LastOwnerError(ValidationError):
    """The action would leave the organization without an owner."""


LAST_OWNER_MESSAGE = (
    "An organization needs at least one owner. Make another member an owner first, "
    "or delete the organization."
)


# --- organizations ----------------------------------------------------------------------------


def validate_new_slug(slug: str) -> str:
    slug = slug.strip().lower()
    slug_validator(slug)
    if slug in RESERVED_SLUGS:
        raise ValidationError(
            _("“%(slug)s” is reserved. Please choose another.") % {"slug": slug}, code="reserved"
        )
    # A slug equal to another organization's public id would shadow its <page_id> host.
    if Organization.objects.filter(Q(slug=slug) | Q(public_id=slug)).exists():
        raise ValidationError(
            _("“%(slug)s” is already taken. Please choose another.") % {"slug": slug}, code="taken"
        )
    return slug


def _validate_timezone(tz: str) -> str:
    if tz not in VALID_TIMEZONES:
        raise ValidationError(
            _("“%(zone)s” is not a known time zone.") % {"zone": tz}, code="timezone"
        )
    return tz


@transaction.atomic
def create_organization(
    *, actor: User, name: str, slug: str, timezone: str = "UTC"
) -> Organization:
    """Create an organization with actor as its first owner."""
    slug = validate_new_slug(slug)
    try:
        # A savepoint, so a concurrent creation of the same slug becomes a form error rather
        # than a broken transaction.
        with transaction.atomic():
            organization = Organization.objects.create(
                name=name.strip(), slug=slug, timezone=_validate_timezone(timezone)
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("“%(slug)s” is already taken. Please choose another.") % {"slug": slug}, code="taken"
        ) from exc
    owner = Membership.objects.create(organization=organization, user=actor, role=Role.OWNER)
    # From here on the creator acts as the owner they have just become.
    AuditEntry.record(
        organization, actor=Member(owner), action="organization.create", target=organization
    )
    return organization


@transaction.atomic
def update_organization_settings(
    organization: Organization, *, actor: Principal, name: str, timezone: str
) -> Organization:
    actor.require("org.change_settings", organization)
    changes = {}
    name = name.strip()
    if name != organization.name:
        changes["name"] = [organization.name, name]
        organization.name = name
    if timezone != organization.timezone:
        changes["timezone"] = [organization.timezone, _validate_timezone(timezone)]
        organization.timezone = timezone
    if changes:
        organization.save(update_fields=["name", "timezone", "updated_at"])
        # The name and timezone appear on the public page.
        bump_content_version(organization)
        AuditEntry.record(
            organization,
            actor=actor,
            action="organization.update",
            target=organization,
            data={"changes": changes},
        )
    return organization


_NOT_A_LANGUAGE = gettext_lazy("“%(code)s” is not a language Candor speaks.")


@transaction.atomic
def set_page_languages(
    organization: Organization, *, actor: Principal, default_language: str, languages: list[str]
) -> Organization:
    """Choose the language a status page speaks by default and the ones readers may pick
    (apps/core/i18n.py). The default is always offered; unknown codes are refused, naming the
    field, rather than dropped, so a typo is never saved as "fewer languages"."""
    actor.require("org.change_settings", organization)
    known = i18n.codes()
    if default_language not in known:
        raise ValidationError({"default_language": [_NOT_A_LANGUAGE % {"code": default_language}]})
    unknown = [code for code in languages if code not in known]
    if unknown:
        raise ValidationError({"languages": [_NOT_A_LANGUAGE % {"code": unknown[0]}]})
    offered = i18n.clean_offered(languages, default_language)
    changes: dict[str, list[Any]] = {}
    if default_language != organization.default_language:
        changes["default_language"] = [organization.default_language, default_language]
    if offered != organization.languages:
        changes["languages"] = [organization.languages, offered]
    if not changes:
        return organization
    organization.default_language = default_language
    organization.languages = offered
    organization.save(update_fields=["default_language", "languages", "updated_at"])
    # The public page (and its cached renderings, one per language) speaks them.
    bump_content_version(organization)
    AuditEntry.record(
        organization,
        actor=actor,
        action="organization.languages",
        target=organization,
        data={"changes": changes},
    )
    return organization


TWO_FACTOR_FIRST_MESSAGE = gettext_lazy(
    "Set up two-factor authentication for your own account first: requiring it would otherwise "
    "send you to set it up before you could use this organization again."
)


@transaction.atomic
def set_two_factor_requirement(
    organization: Organization, *, actor: Principal, required: bool
) -> Organization:
    """Require (or stop requiring) two-factor authentication of every member: members without
    it are sent to set it up before any dashboard page of the organization (tenancy.org_view).

    Only an owner, and only one who has it: the owner turning it on is not locked out by it,
    and has tried what they are asking of everyone."""
    from apps.accounts.two_factor import has_two_factor

    actor.require("org.require_two_factor", organization)
    if required == organization.require_two_factor:
        return organization
    user = actor.audit_user
    if required and (user is None or not has_two_factor(user)):
        raise ValidationError({"require_two_factor": [TWO_FACTOR_FIRST_MESSAGE]})
    organization.require_two_factor = required
    organization.save(update_fields=["require_two_factor", "updated_at"])
    AuditEntry.record(
        organization,
        actor=actor,
        action="organization.require_two_factor",
        target=organization,
        data={"changes": {"require_two_factor": [not required, required]}},
    )
    return organization


# --- private status pages (apps/organizations/private_pages.py) ----------------------------

MAX_PRIVATE_DOMAINS = 50
DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_email_domains(raw: str | list[str]) -> list[str]:
    """Allowed email domains from what an owner typed: one per line (or comma-separated),
    lowercase, without "@"; each a plausible host name with a dot."""
    items = raw.replace(",", "\n").split() if isinstance(raw, str) else raw
    domains: list[str] = []
    for item in items:
        domain = item.strip().lower().removeprefix("@").rstrip(".")
        if not domain:
            continue
        labels = domain.split(".")
        if len(domain) > 253 or len(labels) < 2 or not all(DOMAIN_LABEL.match(x) for x in labels):
            raise ValidationError(
                {
                    "allowed_domains": [
                        _("“%(domain)s” is not an email domain like example.com.")
                        % {"domain": item[:60]}
                    ]
                }
            )
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_PRIVATE_DOMAINS:
        text = _("List at most %(count)s domains.") % {"count": MAX_PRIVATE_DOMAINS}
        raise ValidationError({"allowed_domains": [text]})
    return domains


@transaction.atomic
def set_page_visibility(
    organization: Organization,
    *,
    actor: Principal,
    visibility: str,
    allowed_domains: str | list[str],
) -> Organization:
    """Make the status page public or private, and set whose addresses a private one lets in
    (members always are). Takes effect on the next request: the content version is bumped, so
    no cached response of the page (the fast path's memory included) is served again."""
    actor.require("org.change_settings", organization)
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": [_("Choose public or private.")]})
    domains = "\n".join(normalise_email_domains(allowed_domains))
    changes: dict[str, list[Any]] = {}
    if visibility != organization.visibility:
        changes["visibility"] = [organization.visibility, visibility]
    if domains != organization.private_email_domains:
        changes["allowed_email_domains"] = [
            organization.allowed_email_domains,
            domains.split("\n") if domains else [],
        ]
    if not changes:
        return organization
    organization.visibility = visibility
    organization.private_email_domains = domains
    organization.save(update_fields=["visibility", "private_email_domains", "updated_at"])
    bump_content_version(organization)
    AuditEntry.record(
        organization,
        actor=actor,
        action="organization.visibility",
        target=organization,
        data={"changes": changes},
    )
    return organization


@transaction.atomic
def create_page_access_token(
    organization: Organization, *, actor: Principal, name: str
) -> tuple[PageAccessToken, str]:
    """A token that reads this organization's private page; the secret is returned once and
    only its hash is kept."""
    actor.require("org.change_settings", organization)
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": [_("Name the token after what will use it.")]})
    secret = PageAccessToken.generate_secret()
    token = PageAccessToken.objects.create(
        organization=organization,
        name=name[:100],
        prefix=secret[:12],
        hashed_token=hash_page_token(secret),
        created_by=actor.audit_user,
    )
    AuditEntry.record(organization, actor=actor, action="page_token.create", target=token)
    return token, secret


@transaction.atomic
def revoke_page_access_token(token: PageAccessToken, *, actor: Principal) -> PageAccessToken:
    """Revoked tokens stop working on the very next request (the check reads active tokens)."""
    actor.require("org.change_settings", token.organization)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        AuditEntry.record(token.organization, actor=actor, action="page_token.revoke", target=token)
    return token


@transaction.atomic
def delete_organization(organization: Organization, *, actor: Principal, confirmation: str) -> None:
    """Delete the organization and everything it owns. Owners only, confirmed by its slug."""
    actor.require("org.delete", organization)
    if confirmation.strip() != organization.slug:
        raise ValidationError(
            _("Type “%(slug)s” exactly to confirm.") % {"slug": organization.slug},
            code="confirmation",
        )
    # No AuditEntry: the audit log is deleted with the organization (it cascades), so the lasting
    # record of who deleted what is the application log.
    logger.warning(
        "organization deleted: slug=%s public_id=%s by=%s",
        organization.slug,
        organization.public_id,
        actor.audit_label,
    )
    organization_id = organization.pk
    labels = (organization.slug, organization.public_id)
    route_keys = ["slug:" + organization.slug]
    route_keys += [f"host:{label}.{settings.STATUS_PAGE_DOMAIN}" for label in labels]
    route_keys += [
        "host:" + hostname for hostname in organization.domains.values_list("hostname", flat=True)
    ]
    organization.delete()
    # Its pages must not be served from the fast path's memory or during an outage any more.
    transaction.on_commit(lambda: published.forget(organization_id, route_keys))


# WCAG 2.x AA for normal text: the banner's words must be readable on its background.
BANNER_MIN_CONTRAST = 4.5


def _relative_luminance(hex_colour: str) -> float:
    def channel(pair: str) -> float:
        value = int(pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    code = hex_colour.lstrip("#")
    red, green, blue = (channel(code[i : i + 2]) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    high, low = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def validate_banner_colours(background: str, text_color: str) -> None:
    """ValidationError (naming the field) unless both are #rrggbb and read well together."""
    errors: dict[str, list[str]] = {}
    for field, value in (("banner_background", background), ("banner_text_color", text_color)):
        try:
            color_validator(value)
        except ValidationError as exc:
            errors[field] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    ratio = contrast_ratio(background, text_color)
    if ratio < BANNER_MIN_CONTRAST:
        raise ValidationError(
            {
                "banner_text_color": [
                    _(
                        "This text colour has a contrast of %(ratio)s:1 on the background; "
                        "choose colours with at least %(minimum)s:1 so everyone can read the "
                        "banner."
                    )
                    % {"ratio": f"{ratio:.1f}", "minimum": BANNER_MIN_CONTRAST}
                ]
            },
            code="contrast",
        )


@transaction.atomic
def update_banner_settings(
    organization: Organization,
    *,
    actor: Principal,
    position: str,
    background: str,
    text_color: str,
) -> Organization:
    """Where the embed banner sits on the organization's site and its colours."""
    actor.require("branding.edit", organization)
    if position not in BannerPosition.values:
        raise ValidationError(
            {
                "banner_position": [
                    _("“%(position)s” is not a position: use top or bottom.")
                    % {"position": position}
                ]
            }
        )
    background, text_color = background.strip().lower(), text_color.strip().lower()
    validate_banner_colours(background, text_color)
    before = [
        organization.banner_position,
        organization.banner_background,
        organization.banner_text_color,
    ]
    after = [position, background, text_color]
    if before == after:
        return organization
    organization.banner_position = position
    organization.banner_background = background
    organization.banner_text_color = text_color
    organization.save(
        update_fields=["banner_position", "banner_background", "banner_text_color", "updated_at"]
    )
    AuditEntry.record(
        organization,
        actor=actor,
        action="banner.update",
        target=organization,
        data={"before": before, "after": after},
    )
    # embed.js carries these settings and is cached per content version.
    bump_content_version(organization)
    return organization


def bump_content_version(organization: Organization) -> None:
    """Invalidate the cached public page after the current transaction commits.

    The new version is then published in the cache (apps/organizations/published.py), where the
    public fast path reads it: the next request after the commit sees the change. The version is
    read back after the increment rather than computed, so two bumps racing publish two real
    versions, and the higher one stays (publish only raises)."""

    def bump() -> None:
        rows = Organization.objects.filter(pk=organization.pk)
        rows.update(content_version=F("content_version") + 1)
        version = rows.values_list("content_version", flat=True).first()
        if version is not None:
            published.publish_version(organization.pk, version)

    transaction.on_commit(bump)


# --- memberships ------------------------------------------------------------------------------


def _membership_of(organization: Organization, actor: Principal) -> Membership:
    """The acting member's membership, read again (the role may have changed since the request
    began). Membership rules compare roles, so only a member may act on members."""
    user = actor.audit_user
    membership = (
        Membership.objects.filter(organization=organization, user=user).first() if user else None
    )
    if membership is None:
        raise PermissionDenied("You are not a member of this organization.")
    return membership


def _lock_owners(organization: Organization) -> list[Membership]:
    # SECURITY: locking the owner rows serialises "demote/remove an owner" actions, so two
    # owners demoting each other at the same moment cannot both succeed and leave none.
    return list(
        Membership.objects.select_for_update().filter(organization=organization, role=Role.OWNER)
    )


def _ensure_not_last_owner(organization: Organization, membership: Membership) -> None:
    if membership.role != Role.OWNER:
        return
    owners = _lock_owners(organization)
    if len([m for m in owners if m.pk != membership.pk]) == 0:
        raise LastOwnerError(LAST_OWNER_MESSAGE, code="last_owner")


def _check_can_manage(actor: Principal, target: Membership) -> Membership:
    """The acting member's membership, once they may manage `target`."""
    actor.require("members.manage", target.organization)
    actor_membership = _membership_of(target.organization, actor)
    if target.role == Role.OWNER and not actor_membership.can("members.manage_owners"):
        raise PermissionDenied("Only owners can change or remove an owner.")
    return actor_membership


@transaction.atomic
def change_member_role(membership: Membership, *, actor: Principal, role: str) -> Membership:
    organization = membership.organization
    actor_membership = _check_can_manage(actor, membership)
    if role not in Role.values:
        raise ValidationError(_("Choose a valid role."), code="invalid_role")
    if role not in assignable_roles(actor_membership.role):
        raise PermissionDenied(f"Your role cannot make someone {Role(role).label.lower()}.")
    if role == membership.role:
        return membership
    if role != Role.OWNER:
        _ensure_not_last_owner(organization, membership)
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    AuditEntry.record(
        organization,
        actor=actor,
        action="member.role_change",
        target=membership.user,
        data={"from": previous, "to": role},
    )
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, actor: Principal) -> None:
    organization = membership.organization
    if actor.audit_user is not None and membership.user_id == actor.audit_user.pk:
        raise ValidationError(_("Use “Leave organization” to remove yourself."), code="self")
    _check_can_manage(actor, membership)
    _ensure_not_last_owner(organization, membership)
    AuditEntry.record(
        organization,
        actor=actor,
        action="member.remove",
        target=membership.user,
        data={"role": membership.role},
    )
    membership.delete()


@transaction.atomic
def leave_organization(organization: Organization, *, actor: Principal) -> None:
    actor.require("org.view", organization)
    membership = _membership_of(organization, actor)
    _ensure_not_last_owner(organization, membership)
    AuditEntry.record(
        organization,
        actor=actor,
        action="member.leave",
        target=membership.user,
        data={"role": membership.role},
    )
    membership.delete()


# --- invitations ------------------------------------------------------------------------------


class InvitationError(Exception):
    """An invitation link that cannot be used; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int, invitation: Invitation | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.invitation = invitation


def invitation_token(invitation: Invitation) -> str:
    """The signed token in the invitation link: the invitation's public id and its nonce.

    Not timestamped: expiry comes from the invitation's sent_at, so one invitation (and nonce)
    always has one link.
    """
    signer = signing.Signer(salt=INVITATION_SALT)
    return signer.sign_object({"i": invitation.public_id, "n": invitation.nonce})


def invitation_url(invitation: Invitation) -> str:
    path = reverse("orgs:invitation_accept", args=[invitation_token(invitation)])
    return absolute_url(path)


def invitation_from_token(token: str) -> Invitation:
    """The invitation a link points at, if the link may still be used; else InvitationError.

    Expiry is computed from the invitation's sent_at (reset by a resend), not from the token's
    own timestamp, so resending extends the deadline while the nonce kills the older link.
    """
    try:
        payload = signing.Signer(salt=INVITATION_SALT).unsign_object(token)
        public_id, nonce = str(payload["i"]), str(payload["n"])
    except (signing.BadSignature, KeyError, TypeError):
        raise InvitationError(
            "This invitation link is not valid. Check that you copied the whole link.", status=404
        ) from None
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(public_id=public_id)
        .first()
    )
    if invitation is None:
        raise InvitationError("This invitation no longer exists. Ask for a new one.", status=404)
    if invitation.accepted_at is not None:
        raise InvitationError(
            "This invitation has already been accepted.", status=410, invitation=invitation
        )
    if invitation.revoked_at is not None:
        raise InvitationError(
            "This invitation was withdrawn. Ask an admin of the organization for a new one.",
            status=410,
            invitation=invitation,
        )
    if not secrets.compare_digest(nonce, invitation.nonce):
        raise InvitationError(
            "This invitation link was replaced by a newer one. Use the link in the most recent "
            "invitation email.",
            status=410,
            invitation=invitation,
        )
    if invitation.is_expired:
        raise InvitationError(
            "This invitation has expired. Ask an admin of the organization to resend it.",
            status=410,
            invitation=invitation,
        )
    return invitation


def _send_invitation_email_on_commit(invitation: Invitation) -> None:
    from .emails import send_invitation_email

    # Built now (inside the transaction) so the link carries the nonce just written.
    url = invitation_url(invitation)
    transaction.on_commit(lambda: send_invitation_email(invitation, url))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_invitee(organization: Organization, email: str) -> str:
    email = normalise_email(email)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError(
            _("%(email)s is already a member of this organization.") % {"email": email},
            code="member",
        )
    pending = Invitation.objects.filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).first()
    if pending is not None and not pending.is_expired:
        raise ValidationError(
            _("%(email)s already has a pending invitation. Resend it from the list below.")
            % {"email": email},
            code="pending",
        )
    return email


# Invitations (new and resent) an organization may send per hour: enough for onboarding a team,
# too few to turn Candor into a way of mailing strangers.
INVITATIONS_PER_HOUR = 50


def _check_invitation_rate(organization: Organization) -> None:
    since = timezone.now() - timedelta(hours=1)
    sent = Invitation.objects.filter(organization=organization, sent_at__gte=since).count()
    if sent >= INVITATIONS_PER_HOUR:
        raise ValidationError(
            _("Too many invitations were sent in the last hour. Please try again later."),
            code="rate_limited",
        )


@transaction.atomic
def invite_member(
    organization: Organization, *, actor: Principal, email: str, role: str
) -> Invitation:
    actor.require("members.manage", organization)
    actor_membership = _membership_of(organization, actor)
    _check_invitation_rate(organization)
    if role not in assignable_roles(actor_membership.role):
        raise PermissionDenied(f"Your role cannot invite someone as {role}.")
    email = validate_invitee(organization, email)
    # An expired open invitation is replaced: it keeps the history but frees the address.
    Invitation.objects.filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        organization=organization, email=email, role=role, invited_by=actor.audit_user
    )
    AuditEntry.record(
        organization,
        actor=actor,
        action="invitation.send",
        target=invitation,
        data={"email": email, "role": role},
    )
    _send_invitation_email_on_commit(invitation)
    return invitation


@transaction.atomic
def resend_invitation(invitation: Invitation, *, actor: Principal) -> Invitation:
    """Send the invitation again with a new link; the previous link stops working."""
    actor.require("members.manage", invitation.organization)
    if not invitation.is_open:
        raise ValidationError(_("Only a pending invitation can be resent."), code="closed")
    _check_invitation_rate(invitation.organization)
    invitation.nonce = new_nonce()
    invitation.sent_at = timezone.now()
    invitation.save(update_fields=["nonce", "sent_at"])
    AuditEntry.record(
        invitation.organization,
        actor=actor,
        action="invitation.resend",
        target=invitation,
        data={"email": invitation.email},
    )
    _send_invitation_email_on_commit(invitation)
    return invitation


@transaction.atomic
def revoke_invitation(invitation: Invitation, *, actor: Principal) -> Invitation:
    actor.require("members.manage", invitation.organization)
    if not invitation.is_open:
        raise ValidationError(_("This invitation is no longer pending."), code="closed")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    AuditEntry.record(
        invitation.organization,
        actor=actor,
        action="invitation.revoke",
        target=invitation,
        data={"email": invitation.email},
    )
    return invitation


@transaction.atomic
def accept_invitation(token: str, *, actor: User) -> Membership:
    """Make actor a member with the invited role.

    The link is what grants access, not the address it was sent to: someone invited at a work
    alias often signs up with their personal login, and the inviter already chose to trust
    whoever holds the link (as Slack, GitHub and Linear do). The confirmation page shows the
    mismatch plainly before the user accepts, and the audit row records both addresses.
    """
    invitation = invitation_from_token(token)
    # SECURITY: re-read under a row lock so two concurrent acceptances of one link cannot both
    # pass the "still open" check.
    invitation = lock_again(Invitation.objects.select_related("organization"), pk=invitation.pk)
    invitation_from_token(token)  # the checks again, now that the row is locked
    organization = invitation.organization
    membership = Membership.objects.filter(organization=organization, user=actor).first()
    if membership is None:
        membership = Membership.objects.create(
            organization=organization, user=actor, role=invitation.role
        )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = actor
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    AuditEntry.record(
        organization,
        actor=Member(membership),
        action="invitation.accept",
        target=invitation,
        data={
            "invited_email": invitation.email,
            "accepted_as": actor.email,
            "role": membership.role,
        },
    )
    return membership


# --- custom domains ---------------------------------------------------------------------------


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def normalise_hostname(raw: str) -> str:
    """A lower-case ASCII hostname, or ValidationError saying what is wrong with it."""
    value = raw.strip().lower()
    for prefix in ("https://", "http://"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    value = value.split("/", 1)[0].rstrip(".")
    if not value:
        raise ValidationError(_("Enter a hostname such as status.example.com."), code="empty")
    if _is_ip_address(value.strip("[]")):
        raise ValidationError(_("Enter a hostname, not an IP address."), code="ip")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(
            _("“%(hostname)s” is not a valid hostname.") % {"hostname": raw.strip()},
            code="invalid",
        ) from None
    labels = value.split(".")
    label_ok = all(
        0 < len(label) <= 63
        and all(c.isalnum() or c == "-" for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )
    if len(value) > 253 or len(labels) < 2 or not label_ok or labels[-1].isdigit():
        raise ValidationError(
            _("“%(hostname)s” is not a valid hostname. Use something like status.example.com.")
            % {"hostname": raw.strip()},
            code="invalid",
        )
    return value


def validate_new_hostname(organization: Organization, raw: str) -> str:
    hostname = normalise_hostname(raw)
    status_domain = settings.STATUS_PAGE_DOMAIN
    if hostname == status_domain or hostname.endswith("." + status_domain):
        raise ValidationError(
            _(
                "Addresses under %(domain)s are provided by Candor already; add your own "
                "domain instead."
            )
            % {"domain": status_domain},
            code="status_domain",
        )
    app_hosts = {h.strip("[]").lower() for h in settings.APP_HOSTS}
    if hostname in app_hosts:
        raise ValidationError(_("That hostname belongs to Candor itself."), code="app_host")
    existing = Domain.objects.filter(hostname=hostname).first()
    if existing is not None:
        if existing.organization_id == organization.pk:
            raise ValidationError(
                _("%(hostname)s is already added below.") % {"hostname": hostname},
                code="duplicate",
            )
        raise ValidationError(
            _(
                "%(hostname)s is already used by another organization. If it is yours, "
                "contact support."
            )
            % {"hostname": hostname},
            code="taken",
        )
    return hostname


@transaction.atomic
def add_domain(organization: Organization, *, actor: Principal, hostname: str) -> Domain:
    actor.require("domains.manage", organization)
    hostname = validate_new_hostname(organization, hostname)
    try:
        with transaction.atomic():
            domain = Domain.objects.create(organization=organization, hostname=hostname)
    except IntegrityError as exc:
        raise ValidationError(
            _("%(hostname)s is already used by another organization.") % {"hostname": hostname},
            code="taken",
        ) from exc
    AuditEntry.record(organization, actor=actor, action="domain.add", target=domain)
    return domain


def verify_domain(domain: Domain, *, actor: Principal) -> bool:
    """Look up the TXT record and mark the domain verified when it holds our value.

    Not one transaction end to end: the DNS lookup can take seconds, and no database
    transaction (or row lock) should stay open while we wait on the network. The writes after
    it are atomic.
    """
    actor.require("domains.manage", domain.organization)
    error = ""
    try:
        records = org_dns.resolve_txt(domain.txt_record_name)
    except org_dns.DNSLookupError as exc:
        records, error = [], str(exc)
    found = domain.txt_record_value in records
    with transaction.atomic():
        now = timezone.now()
        if found:
            domain.verified_at = domain.verified_at or now
            domain.last_check_error = ""
        else:
            domain.last_check_error = (
                error
                or f"No TXT record {domain.txt_record_name} with the expected value was found. "
                "DNS changes can take a while to appear."
            )[:200]
        domain.last_checked_at = now
        domain.save(update_fields=["verified_at", "last_checked_at", "last_check_error"])
        AuditEntry.record(
            domain.organization,
            actor=actor,
            action="domain.verify" if found else "domain.verify_failed",
            target=domain,
            data={} if found else {"error": domain.last_check_error},
        )
        if found:
            # public_url (shown on the page) now points at this domain.
            bump_content_version(domain.organization)
    return found


@transaction.atomic
def remove_domain(domain: Domain, *, actor: Principal) -> None:
    actor.require("domains.manage", domain.organization)
    AuditEntry.record(domain.organization, actor=actor, action="domain.remove", target=domain)
    if domain.verified_at:
        bump_content_version(domain.organization)
    hostname = domain.hostname
    domain.delete()
    transaction.on_commit(lambda: published.forget(0, ["host:" + hostname]))

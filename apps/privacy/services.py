"""Writes of the privacy app: the audit trail of exports, and erasing a person's data.

Erasure, decided once here (docs/export.md says it to readers):

- Comments stay, with their bodies: a discussion with holes in it is unreadable for everyone
  else, and the body is what the author chose to publish on the organization's page. What goes
  is who wrote it: the author link is cleared and the shown name becomes ERASED_NAME. Revisions
  lose their editor. (Someone who wants a comment's text gone deletes it first, or asks the
  organization to remove it; both leave a tombstone.)
- Subscriptions to the address are deleted, and with them their pending deliveries (cascade);
  the person's own reply mail (Subscriber.people), pending reply notices and thread follows go.
- "I'm affected too" marks and flags the person made are deleted (they only count people).
- Bans stay, and so does a mail opt-out: they exist to keep a decision about that account
  (keep an abuser out, send no mail), and deleting them on request would undo it.
- Audit rows stay (they are the organization's record of what was done), with the person's
  name and address replaced by a placeholder (placeholder_for) wherever they appear as actor or
  target label.
- The erasure itself is audited with a keyed hash of the address (address_digest), never the
  address: the organization can later check "was x@y erased?" with the address in hand, and
  nobody reads the address out of the log.

Everything runs in one transaction and is idempotent: a second run finds nothing left to change
and records that it changed nothing.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from apps.forum.models import (
    AffectedMark,
    Comment,
    CommentRevision,
    Flag,
    ReplyNotice,
    Thread,
    ThreadFollow,
)
from apps.notifications.models import Subscriber
from apps.organizations.models import AuditEntry, Invitation, Membership, Organization
from apps.organizations.roles import Role
from apps.organizations.services import bump_content_version

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.organizations.principals import Principal

logger = logging.getLogger(__name__)

#: The name erased authors' comments show.
ERASED_NAME = "Deleted user"


def address_digest(email: str) -> str:
    """A keyed hash of an address (SECRET_KEY): comparable, not reversible without the key."""
    return salted_hmac("candor.privacy.erasure", email.strip().lower()).hexdigest()


def placeholder_for(user_id: int | None) -> str:
    return f"erased user #{user_id}" if user_id is not None else "erased user"


# --- export audit ------------------------------------------------------------------------------


def record_export_started(organization: Organization, *, actor: Principal) -> AuditEntry:
    """Owners only. Recorded before the first byte is sent, so an export is audited even when
    the download is cut short; record_export_finished adds its size."""
    actor.require("org.export", organization)
    from .export import FORMAT

    return AuditEntry.record(
        organization,
        actor=actor,
        action="org.export",
        target=organization,
        data={"format": FORMAT, "completed": False},
    )


def record_export_finished(entry: AuditEntry, *, size: int, counts: dict[str, int]) -> None:
    """The size and row counts of an export that was sent to its end. The one place an audit
    row is written twice: the started row becomes the finished one (who, when, how much)."""
    entry.data = {**entry.data, "completed": True, "bytes": size, "rows": counts}
    entry.save(update_fields=["data"])


# --- erasure -----------------------------------------------------------------------------------


@dataclass
class ErasureCounts:
    subscriptions: int = 0
    comments: int = 0
    flags: int = 0
    affected_marks: int = 0
    follows: int = 0
    reply_notices: int = 0
    invitations: int = 0
    audit_rows: int = 0

    def total(self) -> int:
        return sum(asdict(self).values())


def _accounts_for(email: str) -> list[User]:
    User = get_user_model()
    address = email.strip().lower()
    ids = set(EmailAddress.objects.filter(email__iexact=address).values_list("user_id", flat=True))
    ids |= set(User.objects.filter(email__iexact=address).values_list("id", flat=True))
    return list(User.objects.filter(id__in=ids))


def _erase_in(
    organization_filter: Q,
    *,
    addresses: list[str],
    users: list[User],
    counts: ErasureCounts,
) -> set[int]:
    """Erase what `addresses` and `users` left in the organizations `organization_filter`
    selects (a Q over `organization`); the ids of organizations whose public page changed."""
    user_ids = [user.pk for user in users]
    address_q = Q()
    for address in addresses:
        address_q |= Q(email__iexact=address)
    touched_pages: set[int] = set()

    if addresses:
        subscriptions = Subscriber.objects.filter(
            organization_filter, address_q, channel=Subscriber.Channel.EMAIL
        )
        counts.subscriptions += subscriptions.delete()[1].get("notifications.Subscriber", 0)
        counts.invitations += (
            Invitation.objects.filter(organization_filter, address_q)
            .delete()[1]
            .get("organizations.Invitation", 0)
        )
    if not user_ids:
        entries = AuditEntry.objects.filter(organization_filter)
        counts.audit_rows += _scrub_audit_data(entries, set(addresses), placeholder_for(None))
        counts.audit_rows += entries.filter(target_label__in=addresses).update(
            target_label=placeholder_for(None)
        )
        return touched_pages

    counts.subscriptions += (
        Subscriber.people.filter(organization_filter, user_id__in=user_ids)
        .delete()[1]
        .get("notifications.Subscriber", 0)
    )
    comments = Comment.objects.filter(organization_filter, author_id__in=user_ids)
    thread_ids = set(comments.values_list("thread_id", flat=True))
    counts.comments += comments.update(author=None, author_name=ERASED_NAME)
    CommentRevision.objects.filter(organization_filter, edited_by_id__in=user_ids).update(
        edited_by=None
    )
    marks = AffectedMark.objects.filter(organization_filter, user_id__in=user_ids)
    touched_pages |= set(marks.values_list("organization_id", flat=True))
    counts.affected_marks += marks.delete()[0]
    counts.flags += Flag.objects.filter(organization_filter, user_id__in=user_ids).delete()[0]
    counts.follows += ThreadFollow.objects.filter(
        organization_filter, user_id__in=user_ids
    ).delete()[0]
    counts.reply_notices += ReplyNotice.objects.filter(
        organization_filter, recipient_id__in=user_ids, state=ReplyNotice.State.PENDING
    ).delete()[0]
    if thread_ids:
        threads = Thread.objects.filter(pk__in=thread_ids)
        touched_pages |= set(threads.values_list("organization_id", flat=True))
        threads.update(version=F("version") + 1)

    # Audit rows name people by address (Member and Customer principals' audit_label), as actor
    # or as target; matched by address and by the actor link, never by display name (another
    # person may share it).
    labels = set(addresses) | {user.email.lower() for user in users}
    entries = AuditEntry.objects.filter(organization_filter)
    for user in users:
        counts.audit_rows += _scrub_audit_data(entries, labels, placeholder_for(user.pk))
    for user in users:
        counts.audit_rows += entries.filter(Q(actor_id=user.pk) | Q(actor_label__in=labels)).update(
            actor=None, actor_label=placeholder_for(user.pk)
        )
        counts.audit_rows += entries.filter(target_label__in=labels).update(
            target_label=placeholder_for(user.pk)
        )
    return touched_pages


def _scrub_audit_data(entries: QuerySet[AuditEntry], addresses: set[str], placeholder: str) -> int:
    """Replace `addresses` inside audit rows' data (a ban records the banned person's address)
    with `placeholder`; the number of rows changed. Few rows match, so they are read one by
    one."""
    changed = 0
    for address in sorted(addresses):
        pattern = re.compile(re.escape(address), re.IGNORECASE)
        for entry in entries.filter(data__icontains=address).only("pk", "data"):
            text = json.dumps(entry.data)
            scrubbed = pattern.sub(placeholder, text)
            if scrubbed != text:
                entry.data = json.loads(scrubbed)
                entry.save(update_fields=["data"])
                changed += 1
    return changed


def _bump_pages(organization_ids: set[int]) -> None:
    for organization in Organization.objects.filter(pk__in=organization_ids):
        bump_content_version(organization)


@transaction.atomic
def erase_customer(organization: Organization, *, actor: Principal, email: str) -> ErasureCounts:
    """An organization erases one of its customers on their request, by address, within this
    organization only: their subscriptions here, their comments on this organization's threads
    (anonymised), their marks, flags and follows here, and their name in this audit log. Their
    account, and what they have in other organizations, are untouched (the account is theirs;
    they delete it themselves from their profile). Members are refused: an owner removes them
    from the team first, so erasure never edits the record of someone still on the team."""
    actor.require("org.erase_person", organization)
    address = email.strip().lower()
    if not address or "@" not in address:
        raise ValidationError(_("Enter the email address of the person to erase."), code="email")
    users = _accounts_for(address)
    if Membership.objects.filter(organization=organization, user__in=users).exists():
        raise ValidationError(
            _(
                "This address belongs to a member of this organization. Remove them from the "
                "team first; members delete their own account from their profile."
            ),
            code="member",
        )
    counts = ErasureCounts()
    touched = _erase_in(
        Q(organization=organization), addresses=[address], users=users, counts=counts
    )
    if touched or counts.subscriptions:
        touched.add(organization.pk)
    _bump_pages(touched)
    AuditEntry.record(
        organization,
        actor=actor,
        action="privacy.erase_customer",
        data={"address_sha256_hmac": address_digest(address), **asdict(counts)},
    )
    return counts


def last_owner_of(user: User) -> list[Organization]:
    """Organizations that would have no owner left without `user`."""
    owned = Membership.objects.filter(user=user, role=Role.OWNER).values_list(
        "organization_id", flat=True
    )
    others = (
        Membership.objects.filter(organization_id__in=owned, role=Role.OWNER)
        .exclude(user=user)
        .values_list("organization_id", flat=True)
    )
    return list(Organization.objects.filter(pk__in=owned).exclude(pk__in=others).order_by("name"))


@transaction.atomic
def delete_account(user: User) -> ErasureCounts:
    """A person deletes their own account, everywhere: what `erase_customer` does, in every
    organization, for every address of the account; then the account itself, which takes its
    addresses (EmailAddress), two-factor authenticators, memberships, bans and mail opt-outs
    with it (cascades). Its sessions die with it: Django's authentication resolves a session
    whose user no longer exists to an anonymous user (the caller signs the current one out).

    Refused while the person is the last owner of an organization: it would be left with nobody
    who can manage, export or delete it. Each organization they were a member of records the
    deletion in its audit log (with the address's hash)."""
    orphaned = last_owner_of(user)
    if orphaned:
        names = ", ".join(organization.name for organization in orphaned)
        raise ValidationError(
            # Translators: %(names)s is a comma-separated list of organization names.
            _(
                "You are the last owner of %(names)s. Make someone else an owner, or delete the "
                "organization, before deleting your account."
            )
            % {"names": names},
            code="last_owner",
        )
    user_id, primary = user.pk, user.email.lower()
    addresses = sorted(
        {primary}
        | {
            address.lower()
            for address in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
        }
    )
    member_of = list(Organization.objects.filter(memberships__user=user).order_by("pk").distinct())
    counts = ErasureCounts()
    touched = _erase_in(Q(), addresses=addresses, users=[user], counts=counts)
    _bump_pages(touched)
    user.delete()
    from apps.organizations.principals import System

    for organization in member_of:
        AuditEntry.record(
            organization,
            actor=System(placeholder_for(user_id)),
            action="privacy.delete_account",
            data={"address_sha256_hmac": address_digest(primary)},
        )
    logger.info("account deleted: user #%s (%s)", user_id, address_digest(primary)[:12])
    return counts

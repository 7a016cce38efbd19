"""Emails sent by organizations: invitations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from .models import Invitation


def send_invitation_email(invitation: Invitation, url: str) -> None:
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter_name": inviter.get_full_name() if inviter else _("A colleague"),
        "role": invitation.get_role_display(),
        "url": url,
        "expires_at": invitation.expires_at,
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
        "SITE_URL": settings.SITE_URL,
    }
    subject = render_to_string("emails/organizations/invitation_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("emails/organizations/invitation_body.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(
        render_to_string("emails/organizations/invitation_body.html", context), "text/html"
    )
    message.send()

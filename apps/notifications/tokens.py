"""Links in subscriber mail: manage, confirm and one-click unsubscribe, without logging in.

A token is `<subscriber public id>-<HMAC>`; the HMAC (keyed by SECRET_KEY) covers the public id
and the subscriber's `manage_nonce`. The token is never stored, a database leak alone cannot
forge one, and rotating the nonce revokes every link already sent.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings
from django.utils.crypto import constant_time_compare

from apps.organizations.models import Organization

from .models import Subscriber

SALT = "candor.notifications.subscriber-link"


def _mac(subscriber: Subscriber) -> str:
    # Equal to salted_hmac(SALT, value, algorithm="sha256"), from a keyed HMAC made once per
    # SECRET_KEY: an email batch makes one token per message.
    mac = _keyed_hmac(settings.SECRET_KEY).copy()
    mac.update(f"{subscriber.public_id}:{subscriber.manage_nonce}".encode())
    return mac.hexdigest()[:32]


@functools.lru_cache(maxsize=4)
def _keyed_hmac(secret: str) -> hmac.HMAC:
    key = hashlib.sha256((SALT + secret).encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def make_token(subscriber: Subscriber) -> str:
    return f"{subscriber.public_id}-{_mac(subscriber)}"


def subscriber_for_token(organization: Organization, token: str) -> Subscriber | None:
    """The organization's subscriber the token was made for, or None (tampered, revoked)."""
    public_id, _, mac = token.partition("-")
    if not public_id or not mac:
        return None
    subscriber = Subscriber.objects.for_org(organization).filter(public_id=public_id).first()
    # SECURITY: constant-time comparison; same None for "no such subscriber" and "bad mac".
    if subscriber is None or not constant_time_compare(mac, _mac(subscriber)):
        return None
    return subscriber


def page_url(organization: Organization, path: str) -> str:
    return organization.public_url + path


def manage_url(subscriber: Subscriber, base: str | None = None) -> str:
    return (base or subscriber.organization.public_url) + f"manage/{make_token(subscriber)}/"


def unsubscribe_url(subscriber: Subscriber, base: str | None = None) -> str:
    return (base or subscriber.organization.public_url) + f"unsubscribe/{make_token(subscriber)}/"


def confirm_url(subscriber: Subscriber, base: str | None = None) -> str:
    return (
        base or subscriber.organization.public_url
    ) + f"subscribe/confirm/{make_token(subscriber)}/"

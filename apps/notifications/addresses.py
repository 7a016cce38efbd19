"""Addresses we refuse to subscribe, whoever asks: the public subscribe form and the dashboard
CSV import (apps.public.subscriptions.views_public, apps.notifications.csv_import)."""

from __future__ import annotations

# Throwaway-inbox domains: subscribing them only produces bounces. Short on purpose; a
# maintained list can replace it.
DISPOSABLE_DOMAINS = frozenset(
    {
        "mailinator.com", "guerrillamail.com", "guerrillamail.net", "10minutemail.com",
        "tempmail.com", "temp-mail.org", "yopmail.com", "trashmail.com", "sharklasers.com",
        "getnada.com", "dispostable.com", "maildrop.cc", "throwawaymail.com", "fakeinbox.com",
    }
)  # fmt: skip

"""Candor's own system checks: misconfigurations Django cannot know about."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.compatibility, deploy=True)
def check_production_services(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if not settings.PRODUCTION:
        return messages
    if not settings.REDIS_URL:
        messages.append(
            Warning(
                "REDIS_URL is not set: notifications run inside web requests and the cache is "
                "per process.",
                hint="Set REDIS_URL=redis://host:6379/0 and run a Celery worker.",
                id="candor.W001",
            )
        )
    if settings.EMAIL_BACKEND in (
        "apps.core.mail.EmailBackend",  # the readable console backend (apps/core/mail.py)
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    ):
        messages.append(
            Warning(
                "No mail server or provider is configured: email is not sent.",
                hint="Set EMAIL_URL=smtp+tls://user:password@smtp.example.com:587, or "
                "EMAIL_BACKEND=anymail.backends.<provider>.EmailBackend with its ANYMAIL_* "
                "settings.",
                id="candor.W002",
            )
        )
    domain = settings.STATUS_PAGE_DOMAIN
    if domain.endswith("localhost") or "." not in domain:
        messages.append(
            Warning(
                f"STATUS_PAGE_DOMAIN is {domain!r}: status pages would not be reachable.",
                hint="Set STATUS_PAGE_DOMAIN to a domain whose wildcard points at Candor.",
                id="candor.W003",
            )
        )
    if "localhost" in settings.SITE_URL or not settings.SITE_URL.startswith("https://"):
        messages.append(
            Warning(
                f"SITE_URL is {settings.SITE_URL!r}: links in emails would not work.",
                hint="Set SITE_URL to the public https:// address of the application.",
                id="candor.W004",
            )
        )
    return messages


@register(Tags.security)
def check_status_domain_is_not_app_host(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    if settings.STATUS_PAGE_DOMAIN in settings.APP_HOSTS:
        return [
            Error(
                "STATUS_PAGE_DOMAIN must not also be one of ALLOWED_HOSTS.",
                hint="Status pages live on subdomains of STATUS_PAGE_DOMAIN.",
                id="candor.E001",
            )
        ]
    return []

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "SITE_URL": settings.SITE_URL,
        "STATUS_PAGE_DOMAIN": settings.STATUS_PAGE_DOMAIN,
        "DEBUG": settings.DEBUG,
    }

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "SITE_URL": settings.SITE_URL,
        "STATUS_PAGE_DOMAIN": settings.STATUS_PAGE_DOMAIN,
        "DEBUG": settings.DEBUG,
    }


def languages(request: HttpRequest) -> dict:
    """The language switcher's links on a public page (apps/public/language.py): one per
    language the organization offers, each in its own name. Empty outside public pages and on
    pages that offer one language."""
    from django.urls import NoReverseMatch, reverse
    from django.utils import translation
    from django.utils.http import urlencode

    from apps.core.i18n import names

    organization = getattr(request, "organization", None)
    if organization is None or getattr(request, "public_prefix", None) is None:
        return {"page_languages": []}
    offered = organization.offered_languages
    if len(offered) < 2:
        return {"page_languages": []}
    current = translation.get_language()
    all_names = names()
    query = urlencode({"next": request.path})
    try:
        links = [
            {
                "code": code,
                "name": all_names[code],
                "url": reverse("public:language", args=[code]) + "?" + query,
                "current": code == current,
            }
            for code in offered
        ]
    except NoReverseMatch:  # a public error page rendered outside the public URLconf
        return {"page_languages": []}
    return {"page_languages": links}

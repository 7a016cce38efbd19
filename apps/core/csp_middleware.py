"""django-csp's middleware, plus the one source that comes from a setting read at response time.

A status page host's staff sign-in posts to itself and is redirected to the application host
(apps/accounts/handoff.py); browsers check every redirect of a form against the form page's
`form-action`, so the policy lists the application's origin there. It is taken from SITE_URL
when the response is made, not when settings load, so a changed SITE_URL (the browser tests'
live server, override_settings) changes the policy with it. Kept apart from apps/core/csp.py,
which config/settings.py imports before Django is set up.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def application_origin() -> str:
    site = urlsplit(settings.SITE_URL)
    return f"{site.scheme}://{site.netloc}"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        update["form-action"] = [*update.get("form-action", []), application_origin()]
        parts.update = update
        return parts

"""The one rule that builds every absolute link Candor hands out.

Mail (sign-up, password reset, invitations, subscriber confirm/manage/unsubscribe), the
dashboard's "View status page", the public page's `summary.json` `page.url`, webhooks, Slack
and the links the demo command prints all come from `absolute_url`, so a link always points
where the server really answers.

- Application links (dashboard, accounts, invitations, API, inbound hooks): SITE_URL + path.
  SITE_URL wins over the Host of the request that happens to send the mail (allauth would use
  the request's host): one address in every mail whoever triggered it, and a forged Host
  header cannot put its own address into a password-reset link. `make run` sets SITE_URL from
  HOST and PORT, so it is the real address there too.
- Status page links: `Organization.public_url` picks the page's address (its verified custom
  domain, else `SITE_URL/s/<slug>/`, which works wherever SITE_URL works, without wildcard DNS
  or certificates) and builds it here:
  - `<slug>.<STATUS_PAGE_DOMAIN>` is served by the same server as SITE_URL, so it takes
    SITE_URL's scheme and port (`http://acme.status.localhost:8101/` under
    `make run PORT=8101`);
  - a verified custom domain is the customer's own name, pointed (CNAME) at Candor's public
    entry on the standard port: SITE_URL's scheme, no port.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.urls import get_script_prefix, reverse, set_script_prefix


def absolute_url(path: str = "/", *, host: str | None = None) -> str:
    """The absolute URL of path on the application (host None) or on a status page host.

    path starts with "/". host is `<slug>.<STATUS_PAGE_DOMAIN>` or a verified custom domain.
    """
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/': {path!r}")
    site = urlsplit(settings.SITE_URL)
    if host is None:
        return settings.SITE_URL + path
    host = host.lower().rstrip(".")
    if host.endswith("." + settings.STATUS_PAGE_DOMAIN) and site.port:
        return f"{site.scheme}://{host}:{site.port}{path}"
    return f"{site.scheme}://{host}{path}"


def app_path(viewname: str, *args: object) -> str:
    """The path of a named application route, whichever URLconf the current request uses.

    Error pages render under the status pages' URLconf too (with /s/<slug>/ as script
    prefix), where `{% url %}` knows no application route.
    """
    previous = get_script_prefix()
    set_script_prefix("/")
    try:
        return reverse(viewname, urlconf=settings.ROOT_URLCONF, args=args)
    finally:
        set_script_prefix(previous)


def app_link(request: HttpRequest | None, viewname: str, *args: object) -> str:
    """A link from a page to an application route: a path when the page is on an application
    host (it keeps the reader on the host, and the session, they are using), else the
    absolute_url (a status page on its own domain)."""
    path = app_path(viewname, *args)
    if request is None:
        return absolute_url(path)
    # The raw header: get_host() raises on a malformed one, and this page may be the 404 for it.
    raw_host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
    host, _port = split_domain_port(raw_host)
    if host and (host in settings.APP_HOSTS or f"[{host}]" in settings.APP_HOSTS):
        return path
    return absolute_url(path)

"""`manage.py demo`'s part for the banner, badge and outage page (apps/public/embed.py).

Writes a plain HTML page standing in for the organization's own site, with the one-line
snippet, and prints where to open it along with the outage page and the badge. Run again, it
writes the same file (the address in it follows SITE_URL).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils.html import escape

from apps.core.links import absolute_url
from apps.organizations.models import Organization

EXAMPLE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}: an example customer site</title></head>
<body style="font: 17px/1.5 system-ui, sans-serif; margin: 0">
<main style="max-width: 40rem; margin: 0 auto; padding: 2rem 1rem">
<h1>{name}</h1>
<p>This stands in for {name}'s own website. The one line below, before &lt;/body&gt;, shows
the banner while an incident is open; it shows nothing once everything is resolved.</p>
<pre style="white-space: pre-wrap">{snippet_text}</pre>
</main>
{snippet}
</body>
</html>
"""


def example_site_path() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-site.html"


def show(organization: Organization) -> str:
    """Write the example site and return the lines the demo prints about this part."""
    page = absolute_url(f"/s/{organization.slug}/")
    snippet = f'<script src="{page}embed.js" async></script>'
    path = example_site_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        EXAMPLE.format(
            name=escape(organization.name), snippet=snippet, snippet_text=escape(snippet)
        ),
        encoding="utf-8",
    )
    return (
        f"  Banner:       open file://{path} (a plain page with the one-line snippet)\n"
        f"  Outage page:  {page}down/\n"
        f"  Badge:        {page}badge.svg\n"
        f"  Set them up:  {absolute_url(f'/dashboard/{organization.slug}/settings/banner/')}\n"
    )

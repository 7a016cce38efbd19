"""`{% app_link "orgs:home" %}`: apps.core.links.app_link from a template."""

from __future__ import annotations

from django import template

from apps.core import links

register = template.Library()


@register.simple_tag(takes_context=True)
def app_link(context: template.Context, viewname: str, *args: object) -> str:
    return links.app_link(context.get("request"), viewname, *args)

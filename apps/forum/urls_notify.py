"""Links in forum mail, on the status page's own address (mounted by config/urls_public.py at
`discussions/`, namespace `forum_notify`): mute one discussion (RFC 8058 one-click) and mute all
of the organization's.

The pages render in the status page's frame (accent palette, timezone note), which the public
site builds (`apps.public.views_public.base_context`) on this app's floor, so this app may not
import it: config/urls_public.py passes it in as `frame`.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views_notify
from .views_notify import Frame


def notify_urlpatterns(*, frame: Frame) -> list[URLPattern]:
    extra = {"frame": frame}
    return [
        path("mute/<str:token>/", views_notify.mute_thread, extra, name="mute"),
        path("mute-all/<str:token>/", views_notify.mute_all, extra, name="mute_all"),
    ]

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from apps.core.http import ALLOW_LOOPBACK_SETTING


@register()
def loopback_targets_only_in_tests(app_configs, **kwargs):
    if getattr(settings, ALLOW_LOOPBACK_SETTING, False) and settings.PRODUCTION:
        return [
            Error(
                f"{ALLOW_LOOPBACK_SETTING} is on in production.",
                hint="It lets webhook URLs reach 127.0.0.1; it exists for tests only.",
                id="candor.E101",
            )
        ]
    return []

from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "apps.status"
    label = "status"

    def ready(self) -> None:
        from . import onboarding  # noqa: F401 (registers the dashboard home's components step)

        # How this app's events render and whom they reach (the notifications pipeline asks).
        from .notifications import register_renderers

        register_renderers()

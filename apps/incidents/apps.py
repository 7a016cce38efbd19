from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "apps.incidents"
    label = "incidents"

    def ready(self) -> None:
        # How this app's events render and whom they reach (the notifications pipeline asks).
        from .notifications import register_renderers

        register_renderers()

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401 (registers the check and the receiver)

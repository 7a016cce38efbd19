from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        # The system check, and the tasks: the pipeline enqueues them by name
        # (apps.notifications.enqueue), so they must be registered in every process.
        from . import checks, tasks  # noqa: F401

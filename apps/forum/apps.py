from django.apps import AppConfig


class ForumConfig(AppConfig):
    name = "apps.forum"
    label = "forum"

    def ready(self) -> None:
        # How the forum's events render and whom they reach (the notifications pipeline asks).
        from .notifications import register_renderers

        register_renderers()

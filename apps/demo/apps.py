from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py demo`: sample content for every app, so it stands on the top floor of the
    layers (docs/architecture.md); nothing imports it. No models."""

    name = "apps.demo"
    label = "demo"

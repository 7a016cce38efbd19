from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"

    def ready(self) -> None:
        # Registers the API key's OpenAPI security scheme (ApiKeyAuthenticationScheme).
        from . import authentication  # noqa: F401

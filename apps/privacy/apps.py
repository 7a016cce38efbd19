from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """An organization's data export and the erasure of a person's data. Both read or change
    rows of every app (forum comments, subscribers, incidents, the audit log), so the app stands
    on the top floor of the layers (docs/architecture.md); only config/ imports it. No models:
    what it records goes to the organization's audit log."""

    name = "apps.privacy"
    label = "privacy"

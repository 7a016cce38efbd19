"""Pick up every new outbox row, whoever wrote it, without the writer calling us."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import NotificationEvent
from .services import enqueue_event_on_commit


@receiver(post_save, sender=NotificationEvent, dispatch_uid="notifications.enqueue_new_event")
def enqueue_new_event(sender, instance: NotificationEvent, created: bool, raw: bool = False, **kw):
    if created and not raw:
        enqueue_event_on_commit(instance)

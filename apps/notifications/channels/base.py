"""What every channel's batch shares: claiming, the time budget, loading rows.

Channels import the ledger, the registry and the models below them; never the pipeline or
the tasks (those import channels)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .. import conf, ledger
from ..models import Delivery, NotificationEvent


class Batch:
    """Claimed deliveries of one batch task, sent in id order within a time budget."""

    def __init__(self, delivery_ids: Sequence[int], *, owner: str) -> None:
        self.owner = owner
        ledger.relax_commit_durability()
        self.claimed = ledger.claim(delivery_ids, owner=owner)
        self.started = time.monotonic()
        self.budget = conf.batch_time_budget()
        self.left_over: list[int] = []

    def rows(self) -> list[Delivery]:
        """The claimed rows with their subscribers, and each event (with its organization)
        loaded once: a batch's rows mostly share one event, and joining it onto every row
        built an event and an organization per row."""
        rows = list(
            Delivery.objects.filter(ledger.id_in(self.claimed))
            .select_related("subscriber")
            .order_by("id")
        )
        events = NotificationEvent.objects.select_related("organization").in_bulk(
            {delivery.event_id for delivery in rows}
        )
        for delivery in rows:
            delivery.event = events[delivery.event_id]
        return rows

    def out_of_time(self) -> bool:
        # Callers check it only after the first send, so every batch makes progress.
        return time.monotonic() - self.started > self.budget

    def hand_over(self, remaining: Sequence[Delivery]) -> None:
        """Release rows this batch did not get to; the caller enqueues them again."""
        self.left_over = [d.pk for d in remaining]
        ledger.release(self.left_over, owner=self.owner)

"""Short random public identifiers (like Statuspage's `p31zjtct2jer`), never sequential."""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from typing import Any

from django.db import models

ALPHABET = string.ascii_lowercase + string.digits
PUBLIC_ID_LENGTH = 12


def new_public_id() -> str:
    # The first character is a letter so ids never look like numbers to a client.
    first = secrets.choice(string.ascii_lowercase)
    return first + "".join(secrets.choice(ALPHABET) for _ in range(PUBLIC_ID_LENGTH - 1))


class PublicIdField(models.CharField):
    """A unique 12-character lowercase base-36 id, generated on creation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", PUBLIC_ID_LENGTH)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", new_public_id)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "apps.core.ids.PublicIdField", args, kwargs

"""gunicorn's access log without inbound alert tokens (`--logger-class`), for running the app
under gunicorn. The image and docker-compose.yml run granian, whose access log is redacted by
apps.core.logs.RedactHookTokens (config/granian-log.json).

A hook token in the URL (/hooks/<token>/<kind>) is a credential; the access log would otherwise
keep it in every request line. Imported by gunicorn only, never by Django.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from .logs import redact_hook_tokens


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact_hook_tokens(atoms[name])
        return atoms

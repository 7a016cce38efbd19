# Gunicorn configuration for .ci/schemathesis: the app under test reaches nothing beyond this
# machine. Schemathesis sends generated URLs (webhook subscribers, for example), which the app
# resolves to vet them; here every name other than a loopback address or localhost fails to
# resolve, so those requests get the app's own "could not resolve" 400 and nothing is looked up
# or contacted outside 127.0.0.1. Patched in the master, so every forked worker has it.
from __future__ import annotations

import ipaddress
import socket

_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    try:
        allowed = name is None or ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        allowed = name == "localhost"
    if not allowed:
        raise socket.gaierror(socket.EAI_NONAME, "no network beyond 127.0.0.1 in this run")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only

"""The one function that asks DNS about customer domains. Tests replace `resolve_txt`."""

from __future__ import annotations

import dns.exception
import dns.resolver

LOOKUP_TIMEOUT_SECONDS = 3.0


class DNSLookupError(Exception):
    """DNS did not answer (timeout, no reachable server): try again later, not "wrong record"."""


def resolve_txt(name: str) -> list[str]:
    """The TXT strings published at name; [] when the name or the record does not exist."""
    resolver = dns.resolver.Resolver()
    # timeout is per server, lifetime for the whole query: a web request never waits longer.
    resolver.timeout = LOOKUP_TIMEOUT_SECONDS
    resolver.lifetime = LOOKUP_TIMEOUT_SECONDS
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.Timeout:
        raise DNSLookupError("DNS did not answer in time. Please try again.") from None
    except dns.exception.DNSException as exc:
        raise DNSLookupError(f"DNS lookup failed ({type(exc).__name__}). Try again.") from None
    # A TXT record may be split into several strings of up to 255 bytes; they form one value.
    return [b"".join(rdata.strings).decode("utf-8", errors="replace") for rdata in answer]

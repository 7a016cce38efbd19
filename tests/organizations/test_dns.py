from __future__ import annotations

import dns.exception
import dns.resolver
import pytest

from apps.organizations.dns import DNSLookupError
from apps.organizations.dns import resolve_txt as real_resolve_txt


class FakeRdata:
    def __init__(self, *strings: bytes) -> None:
        self.strings = strings


def test_resolve_txt_joins_the_strings_of_each_record(monkeypatch):
    seen = {}

    def fake_resolve(self, name, rdtype):
        seen.update(name=name, rdtype=rdtype, lifetime=self.lifetime)
        return [FakeRdata(b"candor-verification=", b"abc"), FakeRdata(b"v=spf1 -all")]

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", fake_resolve)
    assert real_resolve_txt("_candor-verification.example.com") == [
        "candor-verification=abc",
        "v=spf1 -all",
    ]
    assert seen == {"name": "_candor-verification.example.com", "rdtype": "TXT", "lifetime": 3.0}


@pytest.mark.parametrize("error", [dns.resolver.NXDOMAIN, dns.resolver.NoAnswer])
def test_resolve_txt_answers_nothing_for_a_missing_name_or_record(monkeypatch, error):
    def fake_resolve(self, name, rdtype):
        raise error()

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", fake_resolve)
    assert real_resolve_txt("missing.example.com") == []


def test_resolve_txt_turns_a_timeout_into_a_lookup_error(monkeypatch):
    def fake_resolve(self, name, rdtype):
        raise dns.exception.Timeout()

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", fake_resolve)
    with pytest.raises(DNSLookupError):
        real_resolve_txt("slow.example.com")

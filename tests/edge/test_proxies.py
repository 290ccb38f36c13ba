"""Who the caller is behind proxies: X-Forwarded-For and Forwarded read from the right, and
only as far as the hops are trusted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantgate.edge.proxies import ProxyTrust, forwarded_elements, parse_networks, parse_node
from tenantgate.http import scope_base_url, scope_client_address
from tenantgate.settings import Settings

LB = "10.0.0.5"
BEHIND_LB = Settings(trusted_proxies=["10.0.0.0/24", "2001:db8:ff::/48"])


def scope(peer: str | None = LB, *headers: tuple[str, str], host: str = "internal:8000"):
    raw = [(b"host", host.encode()), *[(k.encode(), v.encode()) for k, v in headers]]
    return {
        "type": "http",
        "scheme": "http",
        "client": (peer, 50000) if peer else None,
        "server": ("10.0.0.9", 8000),
        "headers": raw,
    }


def xff(value: str) -> tuple[str, str]:
    return ("x-forwarded-for", value)


def address(settings: Settings, *headers: tuple[str, str], peer: str | None = LB) -> str:
    return scope_client_address(scope(peer, *headers), settings)


def test_without_trusted_proxies_no_header_is_read():
    class Untouchable(list):
        def __iter__(self):
            raise AssertionError("headers were parsed")

    request = {"client": ("198.51.100.7", 1), "headers": Untouchable()}
    assert scope_client_address(request, Settings()) == "198.51.100.7"


def test_from_an_untrusted_peer_the_headers_are_ignored():
    forged = xff("192.0.2.1")
    assert address(Settings(), forged, peer="198.51.100.7") == "198.51.100.7"
    assert address(BEHIND_LB, forged, peer="198.51.100.7") == "198.51.100.7"
    assert address(BEHIND_LB, ("forwarded", "for=192.0.2.1"), peer="198.51.100.7") == (
        "198.51.100.7"
    )


def test_trust_forwarded_for_means_one_hop_the_right_most_entry():
    one_hop = Settings(trust_forwarded_for=True)
    assert address(one_hop, xff("192.0.2.66, 203.0.113.9")) == "203.0.113.9"
    assert address(one_hop, xff("203.0.113.9")) == "203.0.113.9"
    assert address(one_hop) == LB


def test_the_walk_skips_trusted_hops_and_stops_at_the_first_untrusted_one():
    chain = xff("192.0.2.66, 203.0.113.9, 10.0.0.7, 10.0.0.8")
    assert address(BEHIND_LB, chain) == "203.0.113.9"


def test_forged_left_entries_change_nothing():
    for forged in ("192.0.2.1", "10.0.0.1", "1.1.1.1, 10.0.0.3", "junk"):
        assert address(BEHIND_LB, xff(f"{forged}, 203.0.113.9")) == "203.0.113.9"


def test_when_every_hop_is_trusted_the_left_most_is_the_caller():
    assert address(BEHIND_LB, xff("10.0.0.20, 10.0.0.21")) == "10.0.0.20"


def test_junk_stops_the_walk_at_the_last_good_hop():
    assert address(BEHIND_LB, xff("203.0.113.9, not-an-ip, 10.0.0.7")) == "10.0.0.7"
    assert address(BEHIND_LB, xff("203.0.113.9, ")) == LB
    assert address(BEHIND_LB, xff("[::1")) == LB


def test_several_header_lines_are_one_list_in_order():
    lines = (xff("192.0.2.66"), xff("203.0.113.9, 10.0.0.7"), xff("10.0.0.8"))
    assert address(BEHIND_LB, *lines) == "203.0.113.9"
    assert address(BEHIND_LB, xff("203.0.113.9"), xff("10.0.0.7, 192.0.2.66")) == "192.0.2.66"


def test_ipv6_hops_peers_and_networks():
    assert address(BEHIND_LB, xff("2001:db8::1, 2001:db8:ff::2"), peer="2001:db8:ff::1") == (
        "2001:db8::1"
    )
    assert address(BEHIND_LB, xff("[2001:db8::1]:4711")) == "2001:db8::1"
    assert address(BEHIND_LB, xff("203.0.113.9:4711")) == "203.0.113.9"
    assert address(BEHIND_LB, xff("::ffff:203.0.113.9")) == "203.0.113.9"
    assert address(BEHIND_LB, peer="::ffff:10.0.0.5") == "::ffff:10.0.0.5"  # trusted, no hop
    assert address(BEHIND_LB, xff("203.0.113.9"), peer="::ffff:10.0.0.5") == "203.0.113.9"


def test_forwarded_is_walked_the_same_way():
    rfc = Settings(trusted_proxies=["10.0.0.0/24"], forwarded_headers="forwarded")
    header = ("forwarded", 'for=192.0.2.60;proto=http, for="[2001:db8::1]:4711", for=10.0.0.7')
    assert address(rfc, header) == "2001:db8::1"
    assert address(rfc, ("forwarded", "for=203.0.113.9"), ("forwarded", "For=10.0.0.7")) == (
        "203.0.113.9"
    )
    hidden = ("forwarded", "for=203.0.113.9, for=_hidden, for=10.0.0.7")
    assert address(rfc, hidden) == "10.0.0.7"
    assert address(rfc, ("forwarded", "for=203.0.113.9, for=unknown")) == LB
    assert address(rfc, ("forwarded", "proto=https;by=10.0.0.5")) == LB


def test_only_the_kind_of_header_the_proxies_write_is_read():
    rfc = Settings(trusted_proxies=["10.0.0.0/24"], forwarded_headers="forwarded")
    both = (xff("192.0.2.1"), ("forwarded", "for=203.0.113.9"))
    assert address(BEHIND_LB, *both) == "192.0.2.1"
    assert address(rfc, *both) == "203.0.113.9"


def test_forwarded_elements_keep_quoted_separators():
    elements = forwarded_elements('for="_a,b;c";host="x\\"y", proto=https')
    assert elements == [{"for": "_a,b;c", "host": 'x"y'}, {"proto": "https"}]


def test_nodes():
    assert str(parse_node('"[2001:db8:cafe::17]:4711"')) == "2001:db8:cafe::17"
    for junk in ("unknown", "_hidden", "", "300.1.1.1", "[2001:db8::1", "a:b:c"):
        assert parse_node(junk) is None


def test_scheme_and_host_come_from_the_nearest_trusted_proxy():
    forwarded = (
        ("x-forwarded-proto", "http, https"),
        ("x-forwarded-host", "evil.example, api.example.com"),
    )
    assert scope_base_url(scope(LB, *forwarded), {"host": "internal:8000"}, BEHIND_LB) == (
        "https://api.example.com"
    )
    untrusted = scope("198.51.100.7", *forwarded)
    assert scope_base_url(untrusted, {"host": "internal:8000"}, BEHIND_LB) == (
        "http://internal:8000"
    )


def test_forwarded_proto_and_host_are_the_last_elements():
    rfc = Settings(trusted_proxies=["10.0.0.0/24"], forwarded_headers="forwarded")
    header = ("forwarded", 'for=192.0.2.1;host=evil.example, for=192.0.2.2;proto=https;host="a.b"')
    assert scope_base_url(scope(LB, header), {"host": "internal:8000"}, rfc) == "https://a.b"


def test_a_forwarded_host_that_is_not_a_host_or_a_strange_scheme_is_ignored():
    forwarded = (("x-forwarded-proto", "gopher"), ("x-forwarded-host", "evil.example/phish?"))
    assert scope_base_url(scope(LB, *forwarded), {"host": "internal:8000"}, BEHIND_LB) == (
        "http://10.0.0.9:8000"
    )


def test_trusted_proxies_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TENANTGATE_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,fd00::/8")
    assert [str(n) for n in Settings().trusted_proxies] == [
        "10.0.0.0/8",
        "192.168.1.7/32",
        "fd00::/8",
    ]
    monkeypatch.setenv("TENANTGATE_TRUSTED_PROXIES", '["2001:db8::1"]')
    assert [str(n) for n in Settings().trusted_proxies] == ["2001:db8::1/128"]


def test_a_bad_entry_is_named():
    with pytest.raises(ValidationError, match=r"'10\.0\.0\.300'"):
        Settings(trusted_proxies=["10.0.0.0/8", "10.0.0.300"])
    with pytest.raises(ValueError, match=r"'proxy\.internal'"):
        parse_networks(["proxy.internal"])


def test_a_unix_socket_peer_is_trusted_only_by_trust_forwarded_for():
    assert address(Settings(trust_forwarded_for=True), xff("203.0.113.9"), peer=None) == (
        "203.0.113.9"
    )
    assert address(BEHIND_LB, xff("203.0.113.9"), peer=None) == "unknown"


def test_the_trust_is_built_once_per_configuration():
    trust = ProxyTrust(BEHIND_LB.trusted_proxies)
    assert trust.active
    assert not ProxyTrust().active

"""The base URL written into `urls` when no public URL is configured."""

from starlette.requests import Request

from tenantgate.http import request_base_url
from tenantgate.settings import Settings


def request(host: bytes, scheme: str = "https", **headers: bytes) -> Request:
    raw = [(b"host", host), *[(k.replace("_", "-").encode(), v) for k, v in headers.items()]]
    scope = {"type": "http", "scheme": scheme, "headers": raw, "server": ("10.0.0.5", 8443)}
    return Request(scope)


def test_the_host_header_names_the_base_url():
    assert request_base_url(request(b"api.example.com"), Settings()) == "https://api.example.com"
    assert request_base_url(request(b"[::1]:8000", "http"), Settings()) == "http://[::1]:8000"


def test_a_host_header_that_is_not_a_host_falls_back_to_the_listening_address():
    for bad in (b"evil.example/phish?", b"a b", b"", b"x@y"):
        assert request_base_url(request(bad), Settings()) == "https://10.0.0.5:8443"


def test_forwarded_headers_count_only_behind_a_trusted_proxy():
    forwarded = request(
        b"internal:8000", "http", x_forwarded_proto=b"https", x_forwarded_host=b"api.example.com"
    )
    assert request_base_url(forwarded, Settings()) == "http://internal:8000"
    trusted = Settings(trust_forwarded_for=True)
    assert request_base_url(forwarded, trusted) == "https://api.example.com"

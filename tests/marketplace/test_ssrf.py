"""The fetcher refuses every address that is not public, before connecting and on redirects."""

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog.ingestion.fetch import (
    FetchPolicy,
    FetchRefused,
    address_refusal,
    fetch,
    vet_url,
)

HTML = ("text/html",)


def _policy(**overrides) -> FetchPolicy:
    values = {
        "max_bytes": 1_000_000,
        "timeout_s": 5.0,
        "max_redirects": 3,
        "allowed_content_types": HTML,
        "allowed_private_networks": (),
    }
    return FetchPolicy(**{**values, **overrides})


class _Handler(BaseHTTPRequestHandler):
    seen_hosts: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).seen_hosts.append(self.headers.get("Host"))
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path == "/big":
            body = b"<p>" + b"x" * 5000 + b"</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/big-unannounced":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<p>" + b"x" * 5000 + b"</p>")
            self.close_connection = True
        elif self.path == "/binary":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"abc")
        else:
            body = b"<html><body><p>Hello from the test server.</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


LOCAL = ("127.0.0.1/32",)


def _refusal(url: str, policy: FetchPolicy | None = None) -> str:
    with pytest.raises(FetchRefused) as refused:
        fetch(url, policy or _policy())
    assert refused.value.message
    return refused.value.code


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8000/admin",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://100.64.0.1/",
        "http://localhost/",
    ],
)
def test_non_public_addresses_are_refused(url):
    assert _refusal(url) == "blocked_address"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/", "gopher://x/"])
def test_schemes_other_than_http_and_https_are_refused(url):
    assert _refusal(url) == "unsupported_scheme"


def test_refusal_message_names_the_address():
    with pytest.raises(FetchRefused) as refused:
        vet_url("http://169.254.169.254/", _policy())
    assert refused.value.message == (
        "169.254.169.254 resolves to a link-local address (169.254.169.254); "
        "only public internet addresses can be fetched."
    )


def test_loopback_server_is_refused_by_default(server):
    assert _refusal(server + "/page") == "blocked_address"
    assert _Handler.seen_hosts.count("refused-marker") == 0


def test_allowed_private_network_can_be_fetched(server):
    fetched = fetch(server + "/page", _policy(allowed_private_networks=LOCAL))
    assert (fetched.status, fetched.content_type, fetched.charset) == (200, "text/html", "utf-8")
    assert b"Hello from the test server." in fetched.content


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("http://10.0.0.1/", "blocked_address"),
        ("http://[::1]/", "blocked_address"),
        ("file:///etc/passwd", "unsupported_scheme"),
    ],
)
def test_redirect_to_a_refused_target_is_refused(server, target, code):
    policy = _policy(allowed_private_networks=LOCAL)
    assert _refusal(f"{server}/redirect?to={target}", policy) == code


def test_redirects_are_followed_to_allowed_targets(server):
    policy = _policy(allowed_private_networks=LOCAL)
    fetched = fetch(f"{server}/redirect?to=/page", policy)
    assert fetched.url == f"{server}/page"


def test_too_many_redirects_are_refused(server):
    assert _refusal(server + "/loop", _policy(allowed_private_networks=LOCAL)) == (
        "too_many_redirects"
    )


@pytest.mark.parametrize("path", ["/big", "/big-unannounced"])
def test_responses_over_the_size_limit_are_refused(server, path):
    policy = _policy(allowed_private_networks=LOCAL, max_bytes=1000)
    assert _refusal(server + path, policy) == "too_large"


def test_content_types_outside_the_allow_list_are_refused(server):
    assert _refusal(server + "/binary", _policy(allowed_private_networks=LOCAL)) == (
        "unsupported_content_type"
    )


def test_connection_goes_to_the_vetted_address_without_resolving_again(server, monkeypatch):
    """DNS rebinding: the host is resolved once, and the connection uses that address."""
    port = int(server.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    lookups = []

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "pinned.test":
            lookups.append(host)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    _Handler.seen_hosts.clear()
    fetched = fetch(f"http://pinned.test:{port}/page", _policy(allowed_private_networks=LOCAL))
    assert fetched.status == 200
    assert lookups == ["pinned.test"]
    assert _Handler.seen_hosts == [f"pinned.test:{port}"]


def test_a_host_with_any_private_address_is_refused(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(FetchRefused) as refused:
        vet_url("http://mixed.test/", _policy())
    assert refused.value.code == "blocked_address"
    assert "10.1.2.3" in refused.value.message


@pytest.mark.parametrize(
    "url",
    [
        "http://[2002:7f00:1::]/",  # 6to4 carrying 127.0.0.1
        "http://[2002:a00:1::]/",  # 6to4 carrying 10.0.0.1
        "http://[2002:c0a8:101::1]/",  # 6to4 carrying 192.168.1.1
        "http://[2002:a9fe:a9fe::]/",  # 6to4 carrying 169.254.169.254
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 carrying 169.254.169.254
        "http://[::ffff:0a00:0001]/",  # IPv4-mapped 10.0.0.1
        "http://192.0.0.192/",  # IETF protocol assignments, not global
        "http://192.0.0.1/",
        "http://198.18.0.1/",  # benchmarking
    ],
)
def test_addresses_that_carry_or_are_special_purpose_ipv4_are_refused(url):
    assert _refusal(url) == "blocked_address"


def test_refusal_of_a_6to4_address_names_the_ipv4_it_carries():
    with pytest.raises(FetchRefused) as refused:
        vet_url("http://[2002:a00:1::]/", _policy())
    assert refused.value.message == (
        "2002:a00:1:: resolves to a 6to4 (carrying 10.0.0.1, private) address (2002:a00:1::); "
        "only public internet addresses can be fetched."
    )


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "2002:5db8:d822::1", "192.0.0.9", "2606:4700:4700::1111"]
)
def test_public_addresses_including_6to4_of_a_public_ipv4_pass(address):
    assert address_refusal(ipaddress.ip_address(address), []) == ""

"""Fetch a URL without letting it reach the platform's own network (SSRF).

Only http and https. Every address a host name resolves to must be public (not loopback,
private, link-local, multicast, reserved, unspecified or another IANA special-purpose block),
and so must every IPv4 address an IPv6 address carries (IPv4-mapped, 6to4, Teredo, NAT64);
this is checked after DNS resolution and again on every redirect, which we follow ourselves.
The connection goes to the vetted address (the host name is kept for the Host header, TLS SNI
and certificate checks), so a second DNS answer cannot swap in another address. Size, time,
redirect and content-type limits apply.
"""

import ipaddress
import socket
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

ALLOWED_SCHEMES = ("http", "https")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class FetchRefused(Exception):
    """The URL or its response was refused; `code` says which rule, `message` says why."""

    def __init__(self, code: str, message: str, *, transient: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    timeout_s: float
    max_redirects: int
    allowed_content_types: tuple[str, ...]
    allowed_private_networks: tuple[str, ...] = ()
    user_agent: str = "ProvenantBot/1.0 (+content ingestion)"


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    content: bytes
    charset: str | None


def _networks(cidrs: Iterable[str]):
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


# Special-purpose blocks (IANA registries) that are not globally reachable. Checked besides
# the standard library's flags, which lag behind the registries in older Pythons (3.11 calls
# 192.0.0.192 global).
_NON_PUBLIC = _networks(
    (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
# Globally reachable anycast services inside 192.0.0.0/24 (PCP and TURN).
_PUBLIC_EXCEPTIONS = _networks(("192.0.0.9/32", "192.0.0.10/32"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """Return the IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", server), ("Teredo", client)]
    if ip in _NAT64:
        found.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


def _flag_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return label
    if any(ip in network for network in _PUBLIC_EXCEPTIONS):
        return ""
    if not ip.is_global or any(ip in network for network in _NON_PUBLIC):
        return "non-public"
    return ""


def address_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed_networks) -> str:
    """Return why an address may not be fetched from, or "" if it may.

    An IPv6 address that carries an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) is judged
    by every address it carries as well as by its own.
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed_networks):
        return ""
    if isinstance(ip, ipaddress.IPv6Address):
        for how, inner in embedded_ipv4(ip):
            reason = address_refusal(inner, allowed_networks)
            if reason:
                return f"{how} (carrying {inner}, {reason})"
    return _flag_refusal(ip)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchRefused("dns_failure", f"The host {host!r} could not be resolved.") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def vet_url(url: str, policy: FetchPolicy) -> tuple[httpx.URL, str]:
    """Check a URL's scheme and every address its host resolves to; return it and the IP to use."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchRefused("invalid_url", f"{url!r} is not a valid URL.") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise FetchRefused(
            "unsupported_scheme",
            f"Only http and https URLs can be fetched, not {parsed.scheme or 'no scheme'!r}.",
        )
    host = parsed.host
    if not host:
        raise FetchRefused("invalid_url", f"{url!r} has no host.")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    allowed = _networks(policy.allowed_private_networks)
    try:
        literal = ipaddress.ip_address(host)
        addresses = [str(literal)]
    except ValueError:
        addresses = _resolve(host, port)
    if not addresses:
        raise FetchRefused("dns_failure", f"The host {host!r} has no address.")
    for address in addresses:
        reason = address_refusal(ipaddress.ip_address(address.split("%")[0]), allowed)
        if reason:
            raise FetchRefused(
                "blocked_address",
                f"{host} resolves to a {reason} address ({address}); "
                "only public internet addresses can be fetched.",
            )
    return parsed, addresses[0]


def _media_type(header: str) -> tuple[str, str | None]:
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"'")
    return media.strip().lower(), charset


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    """Fetch `url` under `policy`, following at most `max_redirects` vetted redirects."""
    deadline = time.monotonic() + policy.timeout_s
    timeout = httpx.Timeout(policy.timeout_s, connect=min(policy.timeout_s, 5.0))
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        current = url
        for _ in range(policy.max_redirects + 1):
            parsed, address = vet_url(current, policy)
            response_or_next = _fetch_once(client, parsed, address, policy, deadline)
            if isinstance(response_or_next, Fetched):
                return response_or_next
            current = response_or_next
        raise FetchRefused(
            "too_many_redirects", f"More than {policy.max_redirects} redirects from {url}."
        )


def _fetch_once(client, parsed: httpx.URL, address: str, policy: FetchPolicy, deadline: float):
    """Fetch one hop from the vetted address; return the result or the next URL to try."""
    pinned = parsed.copy_with(host=address)
    headers = {
        "Host": parsed.netloc.decode("ascii"),
        "User-Agent": policy.user_agent,
        "Accept": ", ".join(policy.allowed_content_types),
        "Accept-Encoding": "gzip, identity",
    }
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    try:
        request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
        response = client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise FetchRefused("timeout", f"{parsed} did not answer in time.", transient=True) from exc
    except httpx.HTTPError as exc:
        raise FetchRefused(
            "connection_failed", f"Could not connect to {parsed.host}: {exc}.", transient=True
        ) from exc
    try:
        if response.status_code in REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise FetchRefused("http_error", f"{parsed} redirected without a Location.")
            return urljoin(str(parsed), location)
        if response.status_code >= 400:
            raise FetchRefused(
                "http_error",
                f"{parsed} answered HTTP {response.status_code}.",
                transient=response.status_code >= 500 or response.status_code == 429,
            )
        media_type, charset = _media_type(response.headers.get("content-type", ""))
        if media_type not in policy.allowed_content_types:
            raise FetchRefused(
                "unsupported_content_type",
                f"{parsed} is {media_type or 'of no stated type'}; allowed: "
                + ", ".join(policy.allowed_content_types)
                + ".",
            )
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > policy.max_bytes:
            raise FetchRefused(
                "too_large", f"{parsed} is {declared} bytes; the limit is {policy.max_bytes}."
            )
        body = bytearray()
        try:
            for piece in response.iter_raw():
                body.extend(piece)
                if len(body) > policy.max_bytes:
                    raise FetchRefused(
                        "too_large", f"{parsed} is larger than {policy.max_bytes} bytes."
                    )
                if time.monotonic() > deadline:
                    raise FetchRefused(
                        "timeout",
                        f"{parsed} took longer than {policy.timeout_s} s.",
                        transient=True,
                    )
        except httpx.TimeoutException as exc:
            raise FetchRefused("timeout", f"{parsed} stalled.", transient=True) from exc
        except httpx.HTTPError as exc:
            raise FetchRefused(
                "connection_failed", f"{parsed} broke off: {exc}.", transient=True
            ) from exc
        return Fetched(
            url=str(parsed),
            status=response.status_code,
            content_type=media_type,
            content=_decode_transfer(
                bytes(body), response.headers.get("content-encoding", ""), policy.max_bytes
            ),
            charset=charset,
        )
    finally:
        response.close()


def _decode_transfer(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """Undo gzip transfer encoding, refusing bodies that inflate past the size limit."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise FetchRefused(
            "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported."
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        content = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise FetchRefused("corrupt_response", "The response's gzip body is corrupt.") from exc
    if len(content) > max_bytes or inflater.unconsumed_tail:
        raise FetchRefused("too_large", f"The response inflates past {max_bytes} bytes.")
    return content

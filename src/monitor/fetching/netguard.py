"""Refuse URLs that would make us fetch from inside the network (SSRF).

A feed is untrusted input: its links, and every redirect it leads to, may point at
``file:`` URLs, cloud metadata (169.254.169.254), the router, or ``localhost``. Two
checks keep us on the public internet:

* ``check_url`` runs before every request and every redirect hop: scheme, host syntax,
  and every address the host resolves to.
* ``GuardedAdapter`` checks the address the socket actually connected to, because DNS
  may answer differently the second time (DNS rebinding). It is a plain requests
  ``HTTPAdapter``, so ``responses`` (which patches ``HTTPAdapter.send``) still replays.

``allow`` (``Settings.allow_private_hosts``) lists hostnames or CIDRs that may be private
anyway, e.g. ``("127.0.0.1",)`` for the demo's loopback server.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import idna
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.response import HTTPResponse
from urllib3.util import parse_url

from monitor.exceptions import BlockedURLError, ConnectionFailedError

__all__ = [
    "PUBLIC_TEST_ADDRESS",
    "GuardedAdapter",
    "Resolver",
    "blocked_reason",
    "check_address",
    "check_url",
    "host_allowed",
    "static_resolver",
    "system_resolve",
]

#: host -> the IP addresses it resolves to (strings). Raises ConnectionFailedError(reason="dns").
Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
#: RFC 1035: a full hostname is at most 253 characters.
MAX_HOST_LENGTH = 253
#: A public address (example.com's) that test resolvers hand out for made-up hosts.
PUBLIC_TEST_ADDRESS = "93.184.215.14"

# Hostnames after IDNA encoding: letters, digits, hyphen, dot; underscore occurs in the wild.
_HOST_CHARS = re.compile(r"^[a-z0-9._-]+$")
# Control characters and whitespace are parsed differently by different URL parsers.
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# NAT64 (RFC 6052): on IPv6-only networks DNS64 maps every IPv4 site into this prefix,
# so the embedded IPv4 address is what must be judged.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def system_resolve(host: str) -> list[str]:
    """Resolve a hostname with the system resolver; failure is ConnectionFailedError("dns")."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectionFailedError(f"cannot resolve {host!r}: {exc}", reason="dns") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise ConnectionFailedError(f"{host!r} resolves to no address", reason="dns")
    return addresses


def static_resolver(
    mapping: Mapping[str, str | Sequence[str]] | None = None,
    *,
    default: str | None = PUBLIC_TEST_ADDRESS,
) -> Resolver:
    """A resolver for tests: fixed answers, ``default`` for other hosts (None: DNS failure)."""
    table = {
        k.lower().rstrip("."): [v] if isinstance(v, str) else list(v) for k, v in (mapping or {}).items()
    }

    def resolve(host: str) -> list[str]:
        key = host.lower().rstrip(".")
        if key in table:
            return list(table[key])
        if default is None:
            raise ConnectionFailedError(f"cannot resolve {host!r} (static resolver)", reason="dns")
        return [default]

    return resolve


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address may not be fetched from ("loopback", "private", ...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address inside are judged by that address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            inner = blocked_reason(embedded)
            return None if inner is None else f"embedded {inner}"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # Catches what the flags above miss, e.g. CGNAT 100.64/10 and benchmarking ranges.
        ("not global", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    return None


def _parse_ip(text: str) -> IPAddress | None:
    """An IP address from an address string or an IP-literal host, else None.

    Accepts the shorthand IPv4 forms that ``inet_aton`` (and so the system resolver)
    understands, e.g. ``127.1``, ``0x7f.0.0.1`` or ``2130706433``, so they cannot sneak
    past as "hostnames".
    """
    text = text.strip("[]").split("%", 1)[0]  # IPv6 zone ids do not change the address class
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and all(c in "0123456789abcdefx." for c in text) and text[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _allow_entries(allow: Sequence[str]) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in allow:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def host_allowed(host: str, address: str | None, allow: Sequence[str]) -> bool:
    """True if the host name, or the address, is listed in ``allow`` (hostnames or CIDRs)."""
    names, networks = _allow_entries(allow)
    if host.lower().strip("[]").rstrip(".") in names:
        return True
    ip = _parse_ip(address) if address is not None else _parse_ip(host)
    if ip is None:
        return False
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == n.version and c in n for c in candidates for n in networks)


def check_address(host: str, address: str, allow: Sequence[str] = ()) -> None:
    """Raise BlockedURLError if ``host`` at ``address`` is not public and not allowed."""
    ip = _parse_ip(address)
    if ip is None:
        raise BlockedURLError(f"{host!r} resolved to an unusable address {address!r}", reason="blocked_address")
    reason = blocked_reason(ip)
    if reason is not None and not host_allowed(host, address, allow):
        raise BlockedURLError(
            f"{host!r} resolves to {ip} ({reason}); list it in MONITOR_ALLOW_PRIVATE_HOSTS to allow it",
            reason="blocked_address",
        )


def _ascii_host(host: str, url: str) -> str:
    """The host as requests sends it: non-ASCII names IDNA-encoded (IDNA 2008 + UTS 46)."""
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise BlockedURLError(f"invalid international hostname in {url!r}", reason="bad_url") from exc


def _normalise_host(url: str) -> str:
    """The host requests/urllib3 will connect to, in ASCII; BlockedURLError if unclear."""
    if _CONTROL.search(url):
        raise BlockedURLError(f"URL contains whitespace or control characters: {url!r}", reason="bad_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
        other = parse_url(url)
    except (ValueError, LocationParseError) as exc:
        raise BlockedURLError(f"unparseable URL {url!r}: {exc}", reason="bad_url") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedURLError(f"scheme {scheme or '(none)'!r} is not fetched: {url!r}", reason="blocked_scheme")
    if "\\" in parts.netloc:
        raise BlockedURLError(f"backslash in the authority of {url!r}", reason="bad_url")
    host = _ascii_host((parts.hostname or "").rstrip("."), url)
    # Two parsers must agree on the host, or a crafted URL could be checked as one host
    # and fetched from another.
    if not host or _ascii_host((other.host or "").strip("[]").lower().rstrip("."), url) != host:
        raise BlockedURLError(f"no unambiguous host in {url!r}", reason="bad_url")
    if parts.port == 0:
        raise BlockedURLError(f"port 0 in {url!r}", reason="bad_url")
    if _parse_ip(host) is None and (len(host) > MAX_HOST_LENGTH or not _HOST_CHARS.match(host)):
        raise BlockedURLError(f"invalid hostname {host!r} in {url!r}", reason="bad_url")
    return host


def check_url(url: str, allow: Sequence[str] = (), resolve: Resolver = system_resolve) -> None:
    """Raise BlockedURLError unless ``url`` is http(s) to a public host (or one in ``allow``).

    Every address the host resolves to must be public: the connection may use any of
    them. DNS failure raises ConnectionFailedError(reason="dns").
    """
    host = _normalise_host(url)
    literal = _parse_ip(host)
    if literal is not None:
        check_address(host, str(literal), allow)
        return
    if host_allowed(host, None, allow):
        return
    for address in resolve(host):
        check_address(host, address, allow)


def _notify(sock: socket.socket | None, on_socket: Callable[[socket.socket], None] | None) -> None:
    if sock is not None and on_socket is not None:
        on_socket(sock)


def _guard_socket(sock: socket.socket, host: str, allow: Sequence[str]) -> socket.socket:
    try:
        check_address(host, str(sock.getpeername()[0]), allow)
    except BaseException:
        sock.close()
        raise
    return sock


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter that refuses a connection whose peer address is not public.

    The check runs right after the TCP connect, before TLS or any byte of the request,
    so a DNS answer that changed since ``check_url`` (rebinding) cannot reach an
    internal service. ``on_socket`` is called with the socket of every request, just
    before its response is awaited, so a caller can enforce a wall-clock cap (see
    ``monitor.fetching.fetch``). Proxies are not supported: the peer would be the proxy.
    """

    def __init__(
        self,
        allow: Sequence[str] = (),
        *,
        on_socket: Callable[[socket.socket], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self._allow = tuple(allow)
        self._on_socket = on_socket
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pools(self._allow, self._on_socket)


def _guarded_pools(
    allow: tuple[str, ...], on_socket: Callable[[socket.socket], None] | None
) -> dict[str, type[HTTPConnectionPool]]:
    """Connection pool classes whose connections check their peer and report their socket."""

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _guard_socket(super()._new_conn(), self.host, allow)

        def getresponse(self) -> HTTPResponse:  # type: ignore[override]
            _notify(self.sock, on_socket)
            return super().getresponse()

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _guard_socket(super()._new_conn(), self.host, allow)

        def getresponse(self) -> HTTPResponse:  # type: ignore[override]
            _notify(self.sock, on_socket)
            return super().getresponse()

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}

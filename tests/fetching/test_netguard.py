"""netguard: which URLs and addresses we refuse to fetch, and why."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile_server import HostileServer
from monitor.exceptions import BlockedURLError, ConnectionFailedError
from monitor.fetching.netguard import (
    PUBLIC_TEST_ADDRESS,
    GuardedAdapter,
    blocked_reason,
    check_address,
    check_url,
    host_allowed,
    static_resolver,
    system_resolve,
)

PUBLIC = static_resolver()


def _never_resolve(host: str) -> list[str]:
    raise AssertionError(f"resolver called for {host}")


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer(bomb_bytes=0) as srv:
        yield srv


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://feeds.example.org/feed.xml",
        "gopher://feeds.example.org:70/_GET",
        "data:text/html,<p>hi</p>",
        "javascript:alert(1)",
        "dict://feeds.example.org:11211/stats",
        "//feeds.example.org/feed.xml",
        "feeds.example.org/feed.xml",
        "",
    ],
)
def test_schemes_other_than_http_and_https_are_blocked(url: str) -> None:
    with pytest.raises(BlockedURLError) as info:
        check_url(url, resolve=_never_resolve)
    assert info.value.reason in {"blocked_scheme", "bad_url"}


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",  # inet_aton shorthand
        "0x7f.0.0.1",  # hex
        "0177.0.0.1",  # octal
        "2130706433",  # one integer
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "255.255.255.255",
        "198.18.0.1",  # benchmarking
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:a9fe:a9fe]",  # IPv4-mapped metadata address, hex spelling
        "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
        "[2002:a00:1::]",  # 6to4 of 10.0.0.1
    ],
)
def test_private_and_special_addresses_are_blocked_however_they_are_spelled(host: str) -> None:
    with pytest.raises(BlockedURLError) as info:
        check_url(f"http://{host}/feed", resolve=_never_resolve)
    assert info.value.reason == "blocked_address"


def test_a_hostname_resolving_to_a_private_address_is_blocked() -> None:
    resolve = static_resolver({"intranet.example.org": "10.1.2.3"})
    with pytest.raises(BlockedURLError, match=r"10\.1\.2\.3 \(private\)"):
        check_url("https://intranet.example.org/rss", resolve=resolve)


def test_a_host_is_blocked_when_any_of_its_addresses_is_private() -> None:
    resolve = static_resolver({"mixed.example.org": [PUBLIC_TEST_ADDRESS, "127.0.0.1"]})
    with pytest.raises(BlockedURLError, match="loopback"):
        check_url("http://mixed.example.org/", resolve=resolve)


@pytest.mark.parametrize(
    "url",
    [
        "http://feeds.example.org/rss.xml",
        "HTTPS://Feeds.Example.ORG./atom?x=1#frag",
        "http://93.184.215.14:8080/feed",
        "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/feed",
        "http://[64:ff9b::5db8:d70e]/feed",  # NAT64 of a public address (IPv6-only networks)
        "https://xn--80ak6aa92e.com/vesti",
        "https://новости.example/vesti",
        "http://my_host.example.org/feed",
    ],
)
def test_public_urls_pass(url: str) -> None:
    assert check_url(url, resolve=PUBLIC) is None


def test_allow_list_admits_listed_hosts_and_cidrs_and_nothing_else() -> None:
    assert check_url("http://127.0.0.1:8000/feed", allow=("127.0.0.1",), resolve=_never_resolve) is None
    assert check_url("http://localhost:8000/feed", allow=("localhost",), resolve=_never_resolve) is None
    resolve = static_resolver({"intranet.corp": "10.20.30.40"})
    assert check_url("http://intranet.corp/feed", allow=("10.0.0.0/8",), resolve=resolve) is None
    with pytest.raises(BlockedURLError):
        check_url("http://127.0.0.2/feed", allow=("127.0.0.1",), resolve=_never_resolve)
    with pytest.raises(BlockedURLError):
        check_url("http://intranet.corp/feed", allow=("192.168.0.0/16", "other.corp"), resolve=resolve)


def test_an_allowed_ipv4_address_is_allowed_in_its_mapped_ipv6_spelling_too() -> None:
    assert host_allowed("::ffff:127.0.0.1", None, ("127.0.0.0/8",))
    assert not host_allowed("::ffff:10.0.0.1", None, ("127.0.0.0/8",))


def test_dns_failure_is_a_connection_failure_with_reason_dns() -> None:
    with pytest.raises(ConnectionFailedError) as info:
        check_url("http://gone.example.org/feed", resolve=static_resolver(default=None))
    assert info.value.reason == "dns"


def test_system_resolver_reports_dns_failure_as_reason_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(ConnectionFailedError) as info:
        system_resolve("gone.example.org")
    assert info.value.reason == "dns"


def test_system_resolver_returns_addresses_for_localhost() -> None:
    assert set(system_resolve("localhost")) & {"127.0.0.1", "::1"}


@pytest.mark.parametrize(
    "url",
    [
        "http://feeds.example.org\\@127.0.0.1/",  # parsers disagree on the host
        "http://feeds.exa mple.org/",
        "http://feeds.example.org\n.evil/",
        "http://feeds.example.org:99999/",
        "http://feeds.example.org:0/",
        "http:///path-only",
        "http://[::1/",
        "http://" + "a" * 300 + ".org/",
    ],
)
def test_ambiguous_or_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(BlockedURLError) as info:
        check_url(url, resolve=PUBLIC)
    assert info.value.reason in {"bad_url", "blocked_scheme"}


def test_unicode_hosts_that_could_map_to_ascii_tricks_are_refused() -> None:
    # UTS 46 would map the circled letter to "l" and full-width digits to ASCII; urllib3
    # refuses such names, so we must too rather than check a different host.
    resolve = static_resolver({"localhost": "127.0.0.1"})
    for url in ("http://\u24dbocalhost/", "http://\uff11\uff12\uff17.0.0.1/"):
        with pytest.raises(BlockedURLError) as info:
            check_url(url, resolve=resolve)
        assert info.value.reason == "bad_url"


def test_check_address_blocks_private_peer_unless_host_or_address_is_allowed() -> None:
    with pytest.raises(BlockedURLError):
        check_address("feeds.example.org", "192.168.0.10")
    check_address("feeds.example.org", "192.168.0.10", ("feeds.example.org",))
    check_address("feeds.example.org", "192.168.0.10", ("192.168.0.0/24",))
    check_address("feeds.example.org", PUBLIC_TEST_ADDRESS)


def test_guarded_adapter_refuses_a_socket_connected_to_loopback(server: HostileServer) -> None:
    session = requests.Session()
    session.mount("http://", GuardedAdapter())
    before = sum(server.hits.values())
    with pytest.raises(BlockedURLError) as info:
        session.get(server.url("/ok"), timeout=2)
    assert info.value.reason == "blocked_address"
    assert sum(server.hits.values()) == before  # not one byte of the request was sent


def test_guarded_adapter_connects_to_an_allowed_loopback(server: HostileServer) -> None:
    session = requests.Session()
    session.mount("http://", GuardedAdapter(("127.0.0.1",)))
    assert session.get(server.url("/ok"), timeout=2).content == b"hello"


@responses.activate
def test_guarded_adapter_still_lets_responses_replay() -> None:
    responses.add(responses.GET, "http://feeds.example.org/rss", body=b"<rss/>")
    session = requests.Session()
    session.mount("http://", GuardedAdapter())
    assert session.get("http://feeds.example.org/rss").content == b"<rss/>"


# -- properties -----------------------------------------------------------------------

_EXPECTED = (BlockedURLError, ConnectionFailedError)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_string_yields_none_or_one_of_our_two_errors(url: str) -> None:
    for resolve in (PUBLIC, static_resolver(default=None)):
        try:
            check_url(url, resolve=resolve)
        except _EXPECTED:
            pass


_schemes = st.sampled_from(["http", "https", "HTTP", "ftp", "file", "", "javascript", "h\u0074tp"])
_hosts = st.one_of(
    st.text(min_size=0, max_size=30),
    st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){0,3}", fullmatch=True),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    st.integers(min_value=0, max_value=2**32 - 1).map(str),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_schemes, st.text(max_size=8), _hosts, st.one_of(st.none(), st.integers(-1, 70000)), st.text(max_size=20))
def test_any_assembled_url_yields_none_or_one_of_our_two_errors(
    scheme: str, userinfo: str, host: str, port: int | None, path: str
) -> None:
    url = f"{scheme}://{userinfo + '@' if userinfo else ''}{host}{'' if port is None else f':{port}'}/{path}"
    try:
        check_url(url, resolve=PUBLIC)
    except _EXPECTED:
        pass


@settings(max_examples=500, deadline=None)
@given(st.ip_addresses())
def test_an_ip_literal_passes_exactly_when_the_address_is_public(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    try:
        check_url(f"http://{literal}/feed", resolve=_never_resolve)
        passed = True
    except BlockedURLError:
        passed = False
    assert passed == (blocked_reason(ip) is None)


_PRIVATE_NETS = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_PRIVATE_NETS).flatmap(lambda net: st.ip_addresses(network=net)), st.booleans())
def test_every_private_address_is_blocked_also_behind_a_hostname_or_as_mapped_ipv6(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, mapped: bool
) -> None:
    address = f"::ffff:{ip}" if mapped and ip.version == 4 else str(ip)
    with pytest.raises(BlockedURLError):
        check_url("http://sneaky.example.org/", resolve=static_resolver({"sneaky.example.org": address}))

"""Where a webhook may point: server-side request forgery (SSRF) guard.

A webhook URL is checked when the subscription is created and again right before every
delivery (DNS can change between the two: "DNS rebinding"). The check resolves the host
and requires **every** address to be a public unicast address: loopback, link-local
(including the cloud metadata address 169.254.169.254), private (RFC 1918, unique-local
``fc00::/7``), shared (100.64.0.0/10), multicast, unspecified (``0.0.0.0``, ``::``),
reserved and documentation ranges are refused, also when embedded in an IPv6 address
(IPv4-mapped ``::ffff:a.b.c.d``, 6to4, Teredo), unless an allow-list network
(``EOPORT_TARGET_ALLOW_NETWORKS``) contains the address. Only ``http`` and ``https``
are accepted.

Delivery then connects to the address that was checked, not to whatever the name
resolves to a moment later: the request goes to the IP literal with the original
``Host`` header and, for https, the original name as TLS SNI and certificate name
(:meth:`ResolvedUrl.pinned`). Redirects are never followed (the sender treats a 3xx as
a rejection).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias
from urllib.parse import urlsplit, urlunsplit

from streams._infra.errors import PermanentError

__all__ = [
    "ALLOWED_SCHEMES", "BlockedTargetError", "IPNetwork", "NetworkPolicy", "Resolver",
    "ResolvedUrl", "address_problem", "parse_networks", "system_resolver",
]  # fmt: skip

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver: TypeAlias = Callable[[str, int], list[str]]
"""``(host, port) -> addresses`` (tests inject one to simulate DNS changes)."""

ALLOWED_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedTargetError(PermanentError, ValueError):
    """A target URL that is malformed, unresolvable or points at a refused address.

    Also a :class:`ValueError`: pydantic validators turn it into a 422 with its message.
    """


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``getaddrinfo``, TCP), in resolver order.

    Raises
    ------
    BlockedTargetError
        If the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedTargetError(f"host {host!r} does not resolve: {exc}") from None
    out: list[str] = []
    for info in infos:
        addr = str(info[4][0]).split("%", 1)[0]
        if addr not in out:
            out.append(addr)
    return out


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Allow-list entries (``127.0.0.1``, ``10.0.0.0/8``, ``::1/128``) as networks.

    Raises
    ------
    ValueError
        For an entry that is not an address or network.
    """
    out: list[IPNetwork] = []
    for v in values:
        text = v.strip()
        if not text:
            continue
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"allow-list entry {text!r} is not an IP address or network") from None
    return tuple(out)


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """Any IPv4 address an IPv6 address carries (mapped, 6to4, Teredo), then the address."""
    out: list[IPAddress] = []
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            out.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            out.append(ip.sixtofour)
        if ip.teredo is not None:
            out.extend(ip.teredo)
    return [*out, ip]


def _category(ip: IPAddress) -> str | None:
    """Why ``ip`` is refused (``None``: a public unicast address)."""
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local (cloud metadata range)", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
    )
    for name, hit in checks:
        if hit:
            return name
    if not ip.is_global:
        return "non-public"
    return None


def address_problem(address: str, allow: Sequence[IPNetwork] = ()) -> str | None:
    """Why a connection to ``address`` is refused, or ``None`` when it is allowed.

    Allowed: every address it carries is public unicast, or the address is inside an
    ``allow`` network.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IP address"
    if any(ip.version == net.version and ip in net for net in allow):
        return None
    for part in _embedded(ip):
        why = _category(part)
        if why is not None:
            inner = "" if part == ip else f" (carrying {part})"
            return f"{address}{inner} is a {why} address"
    return None


@dataclass(frozen=True)
class ResolvedUrl:
    """A checked http(s) URL and the addresses its host resolved to (all allowed)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]

    def pinned(self) -> tuple[str, dict[str, str], dict[str, str]]:
        """``(url, headers, extensions)`` of a request to the first checked address.

        The URL names the IP literal; ``Host`` keeps the original name (and port when not
        the scheme's default); for https the ``sni_hostname`` extension makes TLS send
        and verify the original name, so certificates keep working.
        """
        parts = urlsplit(self.url)
        ip = self.addresses[0]
        literal = f"[{ip}]" if ":" in ip else ip
        netloc = f"{literal}:{self.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = self.host if ":" not in self.host else f"[{self.host}]"
        if self.port != _DEFAULT_PORTS[self.scheme]:
            host_header += f":{self.port}"
        extensions = {"sni_hostname": self.host} if self.scheme == "https" else {}
        return url, {"Host": host_header}, extensions


@dataclass(frozen=True)
class NetworkPolicy:
    """Which addresses webhooks may reach.

    Parameters
    ----------
    allow_networks
        Networks allowed although not public (e.g. ``127.0.0.1/32`` for a local demo
        receiver, a company's ``10.0.0.0/8``).
    resolver
        Name resolution (default: the system resolver).
    """

    allow_networks: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver)

    @classmethod
    def from_strings(cls, allow: Iterable[str], resolver: Resolver | None = None) -> NetworkPolicy:
        """A policy from allow-list strings (:func:`parse_networks`)."""
        return cls(parse_networks(allow), resolver or system_resolver)

    def resolve(self, url: str, what: str = "webhook") -> ResolvedUrl:
        """Check ``url`` and resolve its host; every address must be allowed.

        Raises
        ------
        BlockedTargetError
            Not http(s), no host, credentials in the URL, unresolvable, or any address
            refused (the message names the address and why).
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise BlockedTargetError(f"{what} url {url!r} is malformed: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise BlockedTargetError(
                f"{what} url must be http:// or https://, got scheme {parts.scheme!r}"
            )
        host = parts.hostname
        if not host:
            raise BlockedTargetError(f"{what} url {url!r} has no host")
        if parts.username is not None or parts.password is not None:
            raise BlockedTargetError(f"{what} url must not carry credentials")
        port = port if port is not None else _DEFAULT_PORTS[scheme]
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        addresses = [str(literal)] if literal is not None else self.resolver(host, port)
        if not addresses:
            raise BlockedTargetError(f"{what} host {host!r} resolves to no address")
        for addr in addresses:
            why = address_problem(addr, self.allow_networks)
            if why is not None:
                shown = host if literal is not None else f"{host} ({addr})"
                raise BlockedTargetError(
                    f"{what} host {shown} is not allowed: {why}; only public addresses "
                    "are reachable unless EOPORT_TARGET_ALLOW_NETWORKS lists it"
                )
        return ResolvedUrl(url, scheme, host, port, tuple(addresses))

"""Where a webhook may deliver, checked when a subscription is written and again, on the
addresses the name resolves to then, before every delivery.

A target is an ``https`` URL whose host resolves only to public addresses, so the
service cannot be made to call its own network (its database, a cloud metadata service,
an admin port). Networks named in ``NETREGISTRY_WEBHOOK_ALLOWED_ADDRESSES`` are allowed
although private. Plain ``http`` is accepted only for a receiver on this host (every
address loopback, and loopback allowed), which is what tests and a local relay use. A
delivery connects to the address it checked, never resolving the name a second time, so
a name that changes its answer in between (DNS rebinding) cannot move it elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL is no place the service delivers to; the message says why, in words."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked target: the URL to request (on the checked address), the ``Host`` to
    send and, for https, the name the certificate must carry."""

    url: str
    host: str
    server_name: str | None


def allowed_networks(configured: Sequence[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in configured)


def check_form(url: str) -> str | None:
    """Why ``url`` cannot be a target by its form alone, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port out of range raises here)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("https", "http"):
        return "must be an https URL (http only for a receiver on this host)"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user name or password (sign with the secret instead)"
    if parts.fragment:
        return "must not have a fragment (#…)"
    return None


def _allowed(address: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return True
    return address.is_global and not address.is_multicast


async def resolve(url: str, allowed: Sequence[IPNetwork]) -> Target:
    """Resolve ``url``'s host and check every address it has now; raises
    :class:`TargetRefused` saying why it may not be called."""
    reason = check_form(url)
    if reason is not None:
        raise TargetRefused(f"The URL {reason}.")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused(f"The host {host} cannot be resolved.") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(entry[4][0]) for entry in found))
    if not addresses:
        raise TargetRefused(f"The host {host} cannot be resolved.")
    refused = [address for address in addresses if not _allowed(address, allowed)]
    if refused:
        raise TargetRefused(
            f"The host {host} resolves to {refused[0]}, a private, loopback or reserved "
            "address: the service delivers only to public addresses (an operator may allow "
            "networks with NETREGISTRY_WEBHOOK_ALLOWED_ADDRESSES)."
        )
    if parts.scheme == "http" and not all(address.is_loopback for address in addresses):
        raise TargetRefused("Use https: plain http is only for a receiver on this host.")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return Target(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host=parts.netloc,
        server_name=host if parts.scheme == "https" else None,
    )

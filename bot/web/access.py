"""Who may read /metrics and /healthz's details: clients in METRICS_ALLOW's networks.

A client is the address of the TCP connection, nothing the request says about itself.
X-Forwarded-For and its kin are written by whoever sends the request, so they are never
believed; a request carrying one came through a proxy, which forwards the outside, so it
counts as from outside whatever the proxy's own address (loopback, a Docker network).
"""

from ipaddress import IPv6Address, ip_address

from starlette.requests import Request

from bot.addresses import Networks

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def allowed_client(request: Request, allowed: Networks) -> bool:
    """Whether the request comes straight from a client in allowed."""
    if request.client is None or any(header in request.headers for header in PROXY_HEADERS):
        return False
    return allowed_address(request.client.host, allowed)


def allowed_address(host: str, allowed: Networks) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # an IPv4 client of a dual-stack listener
    return any(address in network for network in allowed)

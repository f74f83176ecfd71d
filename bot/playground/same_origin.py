"""Only the playground's own page may use it: a request naming another host, or sent by
another site's page, is refused before it reaches a route.

The web chat acts as the shop's staff and its Bot API takes a token that is no secret, so
any page a browser opens could otherwise drive them: a form posted from another site
(CSRF), or a page whose name was made to point at this machine (DNS rebinding) reading the
answers. The Host header tells which name the browser used, the Origin header which page
sent the request; neither can be set by a page's scripts.
"""

import ipaddress
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# The names of this machine's loopback interface, as a browser on it writes them.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
EVERY_INTERFACE = frozenset({"0.0.0.0", "::", ""})  # noqa: S104


class ServedAddress:
    """The hosts and port a request may name: this machine's loopback names, the host
    the playground was told to listen on, and, when it listens on every interface, any
    address written as digits (a browser that connects to an address by its digits
    names it so; a rebound name is always a name)."""

    def __init__(self, host: str, port: int) -> None:
        self.port = port
        self._every_interface = host in EVERY_INTERFACE
        self._names = LOOPBACK_NAMES | {host.strip("[]").lower()}

    def allows(self, host: str | None, port: int | None) -> bool:
        if host is None or (port or 80) != self.port:
            return False
        return host in self._names or (self._every_interface and _is_address(host))


class SameOriginOnly:
    """ASGI middleware: 403 for a Host that isn't the served address or an Origin that
    isn't the playground's own page; a request without Origin (the page's own GETs, the
    bot's calls) is let through once its Host is right."""

    def __init__(self, app: ASGIApp, served: ServedAddress) -> None:
        self.app = app
        self.served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(dict(scope["headers"]))
            if refusal is not None:
                await PlainTextResponse(refusal, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, headers: dict[bytes, bytes]) -> str | None:
        host = headers.get(b"host", b"").decode("latin-1")
        if not self._allowed("//" + host):
            return (
                f"Refused: {host or 'no host'} is not this playground's address; "
                "open it at the address it printed when it started\n"
            )
        origin = headers.get(b"origin")
        if origin is not None:
            sender = origin.decode("latin-1")
            if not sender.startswith("http://") or not self._allowed(sender):
                return f"Refused: sent by another site's page ({sender})\n"
        return None

    def _allowed(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # a port that isn't a number
            return False
        if parts.username is not None or parts.path or parts.query or parts.fragment:
            return False
        return self.served.allows(parts.hostname, port)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

"""The addresses the settings name: the paths the bot's web server keeps for itself, who
may read its metrics, and the check of a setting that is a web address."""

from ipaddress import IPv4Network, IPv6Network, ip_network
from urllib.parse import urlsplit

# Served beside the webhook on the same port (bot/web/).
RESERVED_PATHS = frozenset({"/healthz", "/metrics"})
# The Mini App's page and API (bot/mini_app/), on the same server.
MINI_APP_PATH = "/app"

Networks = tuple[IPv4Network | IPv6Network, ...]
# Who may read /metrics and /healthz's details by default: loopback and the private
# networks (RFC 1918, IPv6 unique local), as GitLab's monitoring whitelist.
DEFAULT_METRICS_ALLOW: Networks = tuple(
    ip_network(network)
    for network in (
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    )
)


def web_address(url: str | None, schemes: tuple[str, ...], refusal: str) -> str | None:
    """url, None when blank; refused with refusal unless it has one of the schemes and a
    host."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(refusal)
    return url


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the webhook URL's."""
    return urlsplit(url).path or "/"

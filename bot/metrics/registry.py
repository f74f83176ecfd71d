"""The bot's Prometheus metrics, in prometheus-client's default registry (served by
bot/web/ at /metrics, with the process's own CPU and memory figures).

Labels take a few fixed values only (update kinds, message kinds, refusal reasons): never
a URL, a chat id or anything from a request, so nothing secret or unbounded gets in.
"""

from prometheus_client import Counter, Gauge, Histogram

UPDATES_HANDLED = Counter(
    "bot_updates_handled", "Updates handled, by kind (message, callback_query, …)", ["kind"]
)
UPDATE_SECONDS = Histogram(
    "bot_update_handling_seconds",
    "From an update's arrival at the processor (its reader's turn included) to its end",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
MESSAGES_SENT = Counter(
    "bot_messages_sent", "Messages Telegram accepted, by kind (reply, notification)", ["kind"]
)
FLOOD_REFUSALS = Counter(
    "bot_telegram_flood_refusals", "429 Too Many Requests answers from Telegram", ["kind"]
)
WEBHOOK_REFUSED = Counter(
    "bot_webhook_requests_refused",
    "Webhook requests refused: a wrong secret token (403) or a malformed body (400)",
    ["reason"],
)
OUTBOX_MESSAGES = Gauge("bot_outbox_messages", "Messages in the outbox, by status", ["status"])
HOLDS_EXPIRING = Gauge("bot_holds_expiring", "Holds whose pick-up time ends within a day")

"""Telegram's flood limits, as every part of delivery keeps to them: the pacer, the paid
pacer, the shared flood budget and the dispatcher's spacing of each chat."""

# Messages a bot may send in any one second.
TELEGRAM_PER_SECOND = 30
# Telegram counts the messages in any one second.
WINDOW_SECONDS = 1.0
# One message a second to any one chat.
PER_CHAT_INTERVAL = 1.0

"""Lengths as Telegram counts them: in UTF-16 code units, so a character outside the Basic
Multilingual Plane (most emoji, math letters) counts twice. Telegram measures a message's
text after parsing its HTML, so budgets apply to the plain values, before escaping."""

# Telegram's limits, in UTF-16 code units.
MESSAGE_LIMIT = 4096
CALLBACK_ANSWER_LIMIT = 200
COMMAND_DESCRIPTION_LIMIT = 256

ELLIPSIS = "…"


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def truncated(text: str, limit: int) -> str:
    """The text cut to at most `limit` UTF-16 units, ending in an ellipsis when cut; whole
    characters only, so a surrogate pair is never split."""
    if utf16_length(text) <= limit:
        return text
    if limit <= 0:
        return ""
    budget = limit - utf16_length(ELLIPSIS)
    kept = 0
    for index, character in enumerate(text):
        kept += 2 if ord(character) > 0xFFFF else 1
        if kept > budget:
            return text[:index] + ELLIPSIS
    return text + ELLIPSIS  # unreachable: the text was longer than the limit

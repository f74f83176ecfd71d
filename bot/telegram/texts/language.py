"""/language: the question, and the answer in the language just chosen."""

from bot.i18n.catalogs import _


def language_prompt() -> str:
    return _("Which language shall I speak with you?")


def language_chosen() -> str:
    """Said in the language just chosen."""
    # TRANSLATORS: say the name of the language you translate into, not "English".
    return _("From now on I speak English with you. Send /language to change it.")


def language_chosen_short() -> str:
    # TRANSLATORS: the name of the language you translate into, not "English".
    return _("Language: English")

"""The shelf tags' words: the line printed under each QR code, and the terminal's answer
once the PDF is written."""

from bot.i18n.catalogs import _, ngettext


def shelf_tag_call_to_scan() -> str:
    return _("Scan to be told when it's back")


def shelf_tags_written(count: int, path: str) -> str:
    """Plain text for the terminal."""
    return ngettext(
        "Wrote %(count)s shelf tag to %(path)s.", "Wrote %(count)s shelf tags to %(path)s.", count
    ) % {"count": count, "path": path}

"""Commands for the bookstore's staff (ADMIN_IDS)."""

from telegram import Update

from bot.telegram import arguments, deep_links
from bot.telegram.context import BotContext
from bot.telegram.handlers.senders import message_of, sender_id
from bot.telegram.texts import cards, staff, withdrawals
from bot.telegram.texts import deliveries as deliveries_texts
from bot.telegram.texts import holds as holds_texts


async def restock(update: Update, context: BotContext) -> None:
    """Set a book's stock; readers waiting for it hear when it is back."""
    # Refuse strangers before parsing, so they learn nothing about the command.
    context.services.users.require_admin(sender_id(update))
    book_id, quantity = arguments.id_and_quantity("restock", context.args or [])
    result = await context.services.restocks.restock(sender_id(update), book_id, quantity)
    # The messages are already in the outbox (same commit); this only saves a poll.
    context.dispatcher.wake()
    await message_of(update).reply_text(staff.restock_report(result))


async def withdraw(update: Update, context: BotContext) -> None:
    """Withdraw a book: its line is cancelled, each reader told why."""
    context.services.users.require_admin(sender_id(update))
    book_id, reason = arguments.id_and_text(
        "withdraw", arguments.text_after_command(message_of(update).text)
    )
    result = await context.services.withdrawals.withdraw(sender_id(update), book_id, reason)
    context.dispatcher.wake()
    await message_of(update).reply_text(withdrawals.withdrawal_report(result))


async def add_book(update: Update, context: BotContext) -> None:
    """Add a book to the catalog: by ISBN (its title and author looked up), or typed."""
    context.services.users.require_admin(sender_id(update))
    text = arguments.text_after_command(message_of(update).text)
    by_isbn = arguments.isbn_and_quantity("addbook", text)
    if by_isbn is not None:
        isbn, quantity = by_isbn
        book = await context.services.books.add_book_by_isbn(sender_id(update), isbn, quantity)
    else:
        title, author, quantity, isbn_text = arguments.book_fields("addbook", text)
        book = await context.services.books.add_book(
            sender_id(update), title, author, quantity, isbn_text
        )
    link = deep_links.book_link(context.bot.username, book.id)
    await message_of(update).reply_text(
        staff.book_added(book) + "\n\n" + cards.book_link_line(link)
    )


async def deliveries(update: Update, context: BotContext) -> None:
    """How the messages of a book's latest restock are getting through."""
    context.services.users.require_admin(sender_id(update))
    book_id = arguments.single_id("deliveries", context.args or [])
    report = await context.services.notifications.deliveries(sender_id(update), book_id)
    # Whether Telegram answers is this process's dispatcher's knowledge, not the database's.
    paused_since = context.dispatcher.reachability.unreachable_since
    if paused_since is not None and report.restocked_at is not None:
        # Shown beside the restock's time, in the same (the shop's) zone.
        paused_since = paused_since.astimezone(report.restocked_at.tzinfo)
    await message_of(update).reply_text(deliveries_texts.delivery_report(report, paused_since))


async def collected(update: Update, context: BotContext) -> None:
    """A reader took the copy held for them: one copy fewer in the shop."""
    context.services.users.require_admin(sender_id(update))
    reservation_id = arguments.single_id("collected", context.args or [])
    collection = await context.services.holds.collect(sender_id(update), reservation_id)
    await message_of(update).reply_text(holds_texts.collected(collection))


async def holds(update: Update, context: BotContext) -> None:
    """A book's copies on hold, its free copies and its line."""
    context.services.users.require_admin(sender_id(update))
    book_id = arguments.single_id("holds", context.args or [])
    report = await context.services.holds.holds_report(sender_id(update), book_id)
    await message_of(update).reply_text(holds_texts.holds_report(report))

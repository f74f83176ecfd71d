"""/demand: the books readers wait for most, as text, a bar chart and a CSV table; and
the special orders readers wait on, in the text and the table."""

import asyncio
from datetime import UTC

from telegram import Update

from bot.demand import labels
from bot.demand.chart import horizontal_bar_chart
from bot.demand.schemas import DemandReport
from bot.demand.table import csv_file
from bot.telegram.context import BotContext
from bot.telegram.handlers.senders import message_of, sender_id
from bot.telegram.texts import demand as demand_texts


async def demand(update: Update, context: BotContext) -> None:
    """Send the demand report: text, then the chart of the top books, then the full CSV
    (without books in demand, the CSV alone, of the special orders, when there are any)."""
    context.services.users.require_admin(sender_id(update))
    report = await context.services.demand.report(sender_id(update))
    message = message_of(update)
    if not report.books:
        await message.reply_text(demand_texts.demand_report(report))
        if report.open_requests:
            await message.reply_document(table(report), filename=csv_name(report))
        return
    # Drawing takes a tenth of a second of CPU or more: in a thread, so other readers go
    # on, and while the text is on its way.
    drawing = asyncio.ensure_future(asyncio.to_thread(files, report))
    try:
        await message.reply_text(demand_texts.demand_report(report))
    finally:
        chart, csv = await drawing
    await message.reply_photo(chart)
    await message.reply_document(csv, filename=csv_name(report))


def csv_name(report: DemandReport) -> str:
    """A file name, the same in every language: the report's day in UTC."""
    return f"demand-{report.generated_at.astimezone(UTC):%Y-%m-%d}.csv"


def files(report: DemandReport) -> tuple[bytes, bytes]:
    """The chart (PNG) of the books most waited for, and the table (CSV) of them all.
    The chart leaves the special orders out: its bars are of readers and copies of
    catalog books; a request has neither copies nor a line, and the text lists them."""
    charted = [book for book in report.books if book.waiting or book.on_hold or book.paused][
        : labels.DEMAND_CHARTED
    ]
    counts = labels.demand_chart_counts(report, charted)
    chart = horizontal_bar_chart(
        [labels.demand_chart_label(book) for book in charted],
        list(zip(labels.demand_chart_series(report), counts, strict=True)),
        labels.demand_chart_title(report),
        labels.demand_chart_axis(report),
        labels.demand_chart_colours(report),
        labels.demand_chart_notes(charted),
    )
    return chart, table(report)


def table(report: DemandReport) -> bytes:
    """Every book in demand, then every open special order, as rows of one table."""
    # Once, not per row: a sum over every book (2,000 books were 4 million additions).
    paused = report.readers_paused > 0
    rows = [
        [
            demand.book.id,
            demand.book.title,
            demand.book.author,
            demand.book.stock_quantity,
            demand.waiting,
            *([demand.on_hold] if report.holds else []),
            "" if demand.oldest_wait is None else demand.oldest_wait.isoformat(timespec="seconds"),
            *demand.recent,
            *labels.demand_csv_ordering(demand, report),
            *([demand.paused] if paused else []),
            *labels.demand_csv_book_kind(demand, report),
        ]
        for demand in report.books
    ]
    header = labels.demand_csv_header(report)
    rows += [
        labels.demand_csv_request(request, report, len(header)) for request in report.open_requests
    ]
    return csv_file(header, rows)

"""/demand says what to order next (issue 22, item 3): how holds ended over the last 30
days, the collection rate, the median time from a copy set aside to its collection, and
a hold ratio (readers per copy) with the copies to order against HOLD_RATIO_TARGET."""

import csv
import io
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demand.ordering import suggested_order
from bot.playground.files_and_inline import UploadedFile
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader
from tests.chat import ADMIN, Chat, Person
from tests.db import add_books


def readers(first: int, count: int) -> list[Person]:
    return [Person(first + n, f"Reader {first + n}") for n in range(count)]


async def reserve_all(services: Services, people: list[Person], book_id: int) -> None:
    for person in people:
        await services.reservations.reserve(Reader(person.id, person.id), book_id)


def csv_table(sent: object) -> list[list[str]]:
    assert isinstance(sent, UploadedFile)
    return list(csv.reader(io.StringIO(sent.content.decode("utf-8-sig"))))


async def test_fourteen_readers_for_three_copies_suggest_two_more(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """Koha's example at the default target of 3; sorted by the suggestion, then by
    readers as before; a book without copies needs ceil(readers / 3)."""
    await add_books(
        services,
        ("Dune", "Frank Herbert", 0),
        ("Emma", "Jane Austen", 0),
        ("Solaris", "Stanisław Lem", 0),
    )
    await reserve_all(services, readers(3000, 14), 1)
    await reserve_all(services, readers(3100, 5), 3)  # 5 readers, 2 copies: enough
    await reserve_all(services, readers(3200, 4), 2)  # 4 readers, no copy: order 2
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE books SET stock_quantity = 3 WHERE id = 1"))
        await connection.execute(text("UPDATE books SET stock_quantity = 2 WHERE id = 3"))
    await chat.deliveries_done()

    sent = await chat.send(ADMIN, "/demand")
    assert [request.method for request in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
    reply = sent[0].text
    # Before: Solaris (5 readers) came before Emma (4).
    assert reply.index("Dune") < reply.index("Emma") < reply.index("Solaris")
    assert "target of 3" in reply
    assert "#1 <b>Dune</b> by Frank Herbert: 14 waiting" in reply
    assert "    hold ratio 4.7 · suggested order 2\n" in reply
    assert "    hold ratio — (no copies) · suggested order 2\n" in reply
    assert reply.endswith("    hold ratio 2.5 · suggested order 0")

    table = csv_table(sent[2].params["document"])
    # The columns of before keep their places; the new ones come last.
    assert table[0][:5] == ["book id", "title", "author", "in stock", "readers waiting"]
    assert table[0][-2:] == ["hold ratio", "suggested order (target 3)"]
    assert [[row[0], row[4], *row[-2:]] for row in table[1:]] == [
        ["1", "14", "4.67", "2"],
        ["2", "4", "", "2"],
        ["3", "5", "2.5", "0"],
    ]


async def test_a_lower_target_suggests_more(services: Services, engine: AsyncEngine) -> None:
    """HOLD_RATIO_TARGET reaches /demand through the Shop: at 2, 14 readers for 3 copies
    need 7 copies, so 4 more."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await reserve_all(services, readers(3000, 14), 1)
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE books SET stock_quantity = 3 WHERE id = 1"))
    shop = Shop(frozenset({ADMIN.id}), line_updates=False, hold_ratio_target=2)
    report = await build_services(engine, TelegramMessages(), shop).demand.report(ADMIN.id)
    [book] = report.books
    assert (book.hold_ratio, book.suggested_order) == (14 / 3, 4)


async def test_holds_history_in_the_window_rate_and_median(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    """Twelve readers of Dune, with histories planted: what ended in the last 30 days is
    counted, what ended before is not; the rate is collected over holds ended; the median
    time to collect is of the holds collected in the window. Emma has no history."""
    await add_books(hold_services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await reserve_all(hold_services, readers(4000, 12), 1)
    await reserve_all(hold_services, readers(4100, 1), 2)
    # Reservation: its status, how long ago its copy was set aside (None: never), and
    # how long ago it ended.
    history = {
        # Collected 2, 9 and 4 hours after being set aside: the median is 4 hours.
        1: ("collected", timedelta(days=3), timedelta(days=3, hours=-2)),
        2: ("collected", timedelta(days=5), timedelta(days=5, hours=-9)),
        3: ("collected", timedelta(days=10), timedelta(days=10, hours=-4)),
        4: ("expired", timedelta(days=8), timedelta(days=6)),
        5: ("cancelled", timedelta(days=2), timedelta(days=1)),  # released
        6: ("cancelled", None, timedelta(days=2)),
        # Before the window: none of these is counted, nor in the median.
        7: ("collected", timedelta(days=41), timedelta(days=41, hours=-1)),
        8: ("expired", timedelta(days=37), timedelta(days=35)),
        9: ("cancelled", timedelta(days=33), timedelta(days=31)),
        10: ("cancelled", None, timedelta(days=45)),
    }
    async with engine.begin() as connection:
        for reservation, (status, set_aside, ended) in history.items():
            await connection.execute(
                text(
                    "UPDATE pre_bookings SET status = CAST(:status AS pre_booking_status), "
                    "notified_at = now() - CAST(:set_aside AS interval), "
                    "hold_expires_at = now() - CAST(:set_aside AS interval) + interval '2 days', "
                    "collected_at = CASE WHEN :status = 'collected' "
                    "THEN now() - CAST(:ended AS interval) END, "
                    "expired_at = CASE WHEN :status = 'expired' "
                    "THEN now() - CAST(:ended AS interval) END, "
                    "cancelled_at = CASE WHEN :status = 'cancelled' "
                    "THEN now() - CAST(:ended AS interval) END WHERE id = :id"
                ),
                {"id": reservation, "status": status, "set_aside": set_aside, "ended": ended},
            )
    await hold_chat.deliveries_done()

    sent = await hold_chat.send(ADMIN, "/demand")
    assert [request.method for request in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
    reply = sent[0].text
    assert (
        "    last 30 days: copy set aside 5 · collected 3 · released 1 · expired 1 · "
        "cancelled 1 · lapsed 0\n    collection rate 60% · median time to collect 4 h\n"
        "    hold ratio — (no copies) · suggested order 1" in reply
    )
    assert (
        "    last 30 days: copy set aside 0 · collected 0 · released 0 · expired 0 · "
        "cancelled 0 · lapsed 0\n    collection rate — · median time to collect —\n" in reply
    )

    table = csv_table(sent[2].params["document"])
    assert table[0][7:] == [
        "copy set aside (last 30 days)",
        "collected (last 30 days)",
        "released (last 30 days)",
        "expired (last 30 days)",
        "cancelled (last 30 days)",
        "lapsed (last 30 days)",
        "hold ratio",
        "suggested order (target 3)",
        "collection rate (last 30 days)",
        "median hours from set aside to collected (last 30 days)",
    ]
    assert [[row[0], *row[7:]] for row in table[1:]] == [
        ["1", "5", "3", "1", "1", "1", "0", "", "1", "0.6", "4.0"],
        ["2", "0", "0", "0", "0", "0", "0", "", "1", "", ""],
    ]


def test_the_suggestion_is_exact_whatever_the_target() -> None:
    """ceil(readers / target) - copies, never below 0, in decimals: 3 / 0.1 is 30, which
    a float makes 30.000000000000004 (31 copies)."""
    assert suggested_order(14, 3, 3) == 2
    assert suggested_order(4, 0, 3) == 2
    assert suggested_order(6, 2, 3) == 0
    assert suggested_order(5, 9, 3) == 0
    assert suggested_order(3, 0, 0.1) == 30
    assert suggested_order(7, 1, 2.5) == 2

"""The services the bot's entry points use, built once from the settings."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.service import BookService
from bot.cards.service import CardService
from bot.database import create_session_factory
from bot.demand.service import DemandService
from bot.holds.expiry import HoldSweeper
from bot.holds.policy import HoldMessages, HoldPolicy
from bot.holds.service import HoldService
from bot.notifications.outbox import Outbox
from bot.notifications.service import NotificationService
from bot.reservations.service import ReservationService
from bot.restocks.service import BackInStockText, RestockService
from bot.users.admins import Admins
from bot.users.service import UserService


@dataclass(frozen=True)
class Services:
    users: UserService
    books: BookService
    reservations: ReservationService
    # Staff's /restock, under either RESTOCK_POLICY.
    restocks: RestockService
    notifications: NotificationService
    outbox: Outbox
    holds: HoldService
    # None: no hold messages were given, so no holds (nor their expiry loop) here.
    hold_sweeper: HoldSweeper | None
    cards: CardService
    demand: DemandService


def build_services(
    engine: AsyncEngine,
    admin_ids: frozenset[int],
    back_in_stock_text: BackInStockText,
    policy: HoldPolicy | None = None,
    hold_messages: HoldMessages | None = None,
) -> Services:
    sessions = create_session_factory(engine)
    admins = Admins(admin_ids)
    policy = policy or HoldPolicy()
    books = BookService(sessions, admins)
    return Services(
        users=UserService(sessions, admins),
        books=books,
        reservations=ReservationService(sessions, policy, hold_messages),
        restocks=RestockService(sessions, admins, back_in_stock_text, policy, hold_messages),
        notifications=NotificationService(sessions, admins, policy.zone),
        outbox=Outbox(sessions),
        holds=HoldService(sessions, admins, books, policy),
        hold_sweeper=(
            None if hold_messages is None else HoldSweeper(sessions, policy, hold_messages)
        ),
        cards=CardService(sessions, policy.zone),
        demand=DemandService(sessions, admins, policy.zone, policy.hold_in_line),
    )

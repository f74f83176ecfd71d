"""The services the bot's entry points use, built once from the settings."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.service import BackInStockText, BookService
from bot.cards.service import CardService
from bot.database import create_session_factory
from bot.demand.service import DemandService
from bot.notifications.outbox import Outbox
from bot.notifications.service import NotificationService
from bot.reservations.service import ReservationService
from bot.users.admins import Admins
from bot.users.service import UserService


@dataclass(frozen=True)
class Services:
    users: UserService
    books: BookService
    reservations: ReservationService
    notifications: NotificationService
    outbox: Outbox
    cards: CardService
    demand: DemandService


def build_services(
    engine: AsyncEngine, admin_ids: frozenset[int], back_in_stock_text: BackInStockText
) -> Services:
    sessions = create_session_factory(engine)
    admins = Admins(admin_ids)
    return Services(
        users=UserService(sessions, admins),
        books=BookService(sessions, admins, back_in_stock_text),
        reservations=ReservationService(sessions),
        notifications=NotificationService(sessions, admins),
        outbox=Outbox(sessions),
        cards=CardService(sessions),
        demand=DemandService(sessions, admins),
    )

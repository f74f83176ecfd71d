"""The services the bot's entry points use, built once from the settings."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.service import BookService
from bot.database import create_session_factory
from bot.reservations.service import ReservationService
from bot.users.admins import Admins
from bot.users.service import UserService


@dataclass(frozen=True)
class Services:
    users: UserService
    books: BookService
    reservations: ReservationService


def build_services(engine: AsyncEngine, admin_ids: frozenset[int]) -> Services:
    sessions = create_session_factory(engine)
    admins = Admins(admin_ids)
    return Services(
        users=UserService(sessions, admins),
        books=BookService(sessions, admins),
        reservations=ReservationService(sessions),
    )

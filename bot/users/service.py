from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.users.admins import Admins
from bot.users.repository import UserRepository
from bot.users.schemas import Reader, Registration


class UserService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], admins: Admins) -> None:
        self._sessions = sessions
        self._admins = admins

    async def register(self, reader: Reader) -> Registration:
        """Remember the reader (again, harmlessly) and say whether they are staff."""
        async with self._sessions.begin() as session:
            await UserRepository(session).save(reader)
        return Registration(is_admin=self._admins.includes(reader.telegram_id))

    def is_admin(self, telegram_id: int) -> bool:
        return self._admins.includes(telegram_id)

    def require_admin(self, telegram_id: int) -> None:
        """Raise NotAnAdmin unless the user is staff; needs no database."""
        self._admins.require(telegram_id)

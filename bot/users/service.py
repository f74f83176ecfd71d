from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import languages
from bot.users.admins import Admins
from bot.users.errors import UnsupportedLanguage
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

    async def choose_language(self, reader: Reader, language: str) -> None:
        """The reader's language from now on, for replies and for the messages queued for
        them; a block and unblock keep it."""
        if not languages.is_supported(language):
            raise UnsupportedLanguage(language)
        async with self._sessions.begin() as session:
            await UserRepository(session).choose_language(reader, language)

    async def chosen_language(self, telegram_id: int) -> str | None:
        """The language the reader chose with /language; None until they do."""
        async with self._sessions() as session:
            return await UserRepository(session).chosen_language(telegram_id)

    async def blocked_us(self, telegram_id: int) -> None:
        """The reader blocked the bot: their messages are skipped until they come back."""
        async with self._sessions.begin() as session:
            await UserRepository(session).mark_unreachable(telegram_id)

    def is_admin(self, telegram_id: int) -> bool:
        return self._admins.includes(telegram_id)

    def require_admin(self, telegram_id: int) -> None:
        """Raise NotAnAdmin unless the user is staff; needs no database."""
        self._admins.require(telegram_id)

    def staff_ids(self) -> frozenset[int]:
        """Telegram ids of the staff (ADMIN_IDS), for their command menus."""
        return self._admins.telegram_ids

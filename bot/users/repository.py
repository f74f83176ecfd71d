from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.users.models import User
from bot.users.schemas import Reader


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def save(self, reader: Reader) -> int:
        """Insert the reader or refresh their details; return their row id."""
        statement = insert(User).values(
            telegram_id=reader.telegram_id,
            chat_id=reader.chat_id,
            username=reader.username,
            first_name=reader.first_name,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[User.telegram_id],
            set_={
                "chat_id": statement.excluded.chat_id,
                "username": statement.excluded.username,
                "first_name": statement.excluded.first_name,
                # Writing to us again means our messages reach them again.
                "unreachable_at": None,
            },
        )
        user_id = await self._session.scalar(statement.returning(User.id))
        assert user_id is not None  # DO UPDATE always returns the row
        return int(user_id)

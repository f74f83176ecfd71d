from sqlalchemy import case, func, select, true, update
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
            language=reader.language,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[User.telegram_id],
            set_={
                "chat_id": statement.excluded.chat_id,
                "username": statement.excluded.username,
                "first_name": statement.excluded.first_name,
                # Their app's language, until they choose one with /language.
                "language": case(
                    (User.language_chosen, User.language),
                    else_=func.coalesce(statement.excluded.language, User.language),
                ),
            },
        )
        user_id = await self._session.scalar(statement.returning(User.id))
        assert user_id is not None  # DO UPDATE always returns the row
        return int(user_id)

    async def choose_language(self, reader: Reader, language: str) -> None:
        """The reader's own choice, kept until they choose again."""
        statement = insert(User).values(
            telegram_id=reader.telegram_id,
            chat_id=reader.chat_id,
            username=reader.username,
            first_name=reader.first_name,
            language=language,
            language_chosen=True,
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[User.telegram_id],
                set_={"language": language, "language_chosen": true()},
            )
        )

    async def chosen_language(self, telegram_id: int) -> str | None:
        """The language the reader chose with /language, if they did: one statement in
        autocommit (read at a reader's first update), with no transaction around it."""
        connection = await self._session.connection(
            execution_options={"isolation_level": "AUTOCOMMIT"}
        )
        chosen: str | None = await connection.scalar(
            select(User.language)
            .where(User.telegram_id == telegram_id)
            .where(User.language_chosen)
        )
        return chosen

    async def set_line_updates(self, telegram_id: int, on: bool) -> None:
        """Place updates on or off for the reader; unknown ids: nothing."""
        await self._session.execute(
            update(User).where(User.telegram_id == telegram_id).values(line_updates=on)
        )

    async def mark_unreachable(self, telegram_id: int) -> None:
        """Our messages don't reach them (since the first time we knew); unknown ids: nothing."""
        await self._session.execute(
            update(User)
            .where(User.telegram_id == telegram_id)
            .values(unreachable_at=func.coalesce(User.unreachable_at, func.now()))
        )

    async def mark_reachable(self, telegram_id: int) -> int | None:
        """Clear unreachable_at if it is set; return the row id then, else None.

        The row is written only when it was set: for everyone else this is an index
        lookup that changes nothing. Under concurrent calls, one gets the id."""
        return await self._session.scalar(
            update(User)
            .where(User.telegram_id == telegram_id)
            .where(User.unreachable_at.is_not(None))
            .values(unreachable_at=None)
            .returning(User.id)
        )

    async def is_unreachable(self, telegram_id: int) -> bool:
        """Whether the reader is marked unreachable: one statement in autocommit, with no
        transaction to begin and end."""
        connection = await self._session.connection(
            execution_options={"isolation_level": "AUTOCOMMIT"}
        )
        found = await connection.scalar(
            select(User.id)
            .where(User.telegram_id == telegram_id)
            .where(User.unreachable_at.is_not(None))
        )
        return found is not None

from dataclasses import dataclass

from bot.users.errors import NotAnAdmin


@dataclass(frozen=True)
class Admins:
    """The Telegram users allowed to change the catalog (ADMIN_IDS)."""

    telegram_ids: frozenset[int]

    def includes(self, telegram_id: int) -> bool:
        return telegram_id in self.telegram_ids

    def require(self, telegram_id: int) -> None:
        if not self.includes(telegram_id):
            raise NotAnAdmin()

from bot.errors import DomainError


class NotAnAdmin(DomainError):
    """Only the bookstore's staff may do this."""

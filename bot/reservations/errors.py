from bot.books.schemas import BookView
from bot.errors import DomainError
from bot.reservations.schemas import ReservationView


class BookInStock(DomainError):
    """No need to wait: the book can be bought now."""

    def __init__(self, book: BookView) -> None:
        super().__init__(book)
        self.book = book


class AlreadyWaiting(DomainError):
    def __init__(self, book: BookView) -> None:
        super().__init__(book)
        self.book = book


class ReservationNotFound(DomainError):
    """No such reservation among the reader's own (another's looks the same)."""

    def __init__(self, reservation_id: int) -> None:
        super().__init__(reservation_id)
        self.reservation_id = reservation_id


class NotCancellable(DomainError):
    def __init__(self, reservation: ReservationView) -> None:
        super().__init__(reservation)
        self.reservation = reservation

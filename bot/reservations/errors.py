from dataclasses import dataclass
from datetime import date

from bot.books.schemas import BookView
from bot.errors import DomainError
from bot.reservations.schemas import ReservationView


@dataclass(eq=False)
class BookInStock(DomainError):
    """No need to wait: the book can be bought now."""

    book: BookView


@dataclass(eq=False)
class AlreadyWaiting(DomainError):
    book: BookView


@dataclass(eq=False)
class TooManyReservations(DomainError):
    """The reader has as many active reservations as one may (MAX_ACTIVE_RESERVATIONS)."""

    limit: int


@dataclass(eq=False)
class ReservationNotFound(DomainError):
    """No such reservation among the reader's own (another's looks the same)."""

    reservation_id: int


@dataclass(eq=False)
class NotCancellable(DomainError):
    reservation: ReservationView


@dataclass(eq=False)
class NotPausable(DomainError):
    """Only a waiting reservation pauses: not a paused one, a hold, or one that ended."""

    reservation: ReservationView


@dataclass(eq=False)
class NotPaused(DomainError):
    """Only a paused reservation resumes."""

    reservation: ReservationView


@dataclass(eq=False)
class ResumeDayNotAhead(DomainError):
    """The day a pause ends by itself must come after today (in shop time)."""

    resume_on: date
    today: date


@dataclass(eq=False)
class DayPassed(DomainError):
    """A day before today in the shop's time: a reservation can't be needed only until
    then (today itself is allowed: needed until its end)."""

    day: date
    today: date


@dataclass(eq=False)
class ReservationEnded(DomainError):
    """The reservation is no longer in line or on hold (cancelled, collected, lapsed…):
    there is nothing left to limit."""

    reservation: ReservationView

"""The services, wired once: every entry point (the bot, the webhook, the playground, the
CLI's commands) and every test builds them here, from the engine, the shop's rules and the
messages the Telegram layer renders (the one seam: bot/notifications/messages.py)."""

from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.metadata import OPEN_LIBRARY_URL, MetadataSource
from bot.books.service import BookService
from bot.cards.service import CardService
from bot.config import Settings
from bot.database import create_session_factory
from bot.demand.service import DemandService
from bot.digest.messages import DigestMessages
from bot.digest.service import DigestRules, DigestService
from bot.digest.step import DigestStep
from bot.holds.expiry import HoldSweeper
from bot.holds.policy import HoldPolicy
from bot.holds.service import HoldService
from bot.line.clock import Clock, system_clock
from bot.line.lapses import LapseStep
from bot.line.needed_until import NeededUntilService
from bot.line.pause import PauseService
from bot.line.place_updates import PlaceUpdates
from bot.line.resuming import ResumeStep
from bot.line.service import ReservationService
from bot.line.updates_choice import UpdatesChoice
from bot.line.upkeep import LineStep, LineUpkeep, StepReport
from bot.notifications.messages import ReaderMessages
from bot.notifications.outbox import Outbox
from bot.notifications.service import NotificationService
from bot.opening_hours import ShopHours, WeeklyTime
from bot.restocks.service import RestockService
from bot.restocks.withdrawal import WithdrawalService
from bot.special_orders.service import SpecialOrderService
from bot.users.admins import Admins
from bot.users.service import UserService


@dataclass(frozen=True)
class Shop:
    """Who the staff are and how the shop runs its line, in its time zone."""

    admin_ids: frozenset[int] = frozenset()
    policy: HoldPolicy = field(default_factory=HoldPolicy)
    zone: tzinfo = UTC
    # How many reservations one reader may have waiting or set aside at once; 0: no limit.
    max_active_reservations: int = 25
    # Place updates (a message when a waiting reader's place improves); off: none.
    line_updates: bool = True
    # /demand suggests ordering copies until readers per copy come down to this.
    hold_ratio_target: float = 3
    # Where /addbook <ISBN> finds a title and author (BOOK_METADATA_URL), and how long it
    # may take (BOOK_METADATA_TIMEOUT, seconds).
    book_metadata_url: str = OPEN_LIBRARY_URL
    book_metadata_timeout: float = 5.0
    # When the staff's weekly digest goes out (DIGEST_AT); None: never.
    digest_at: WeeklyTime | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Shop":
        """ADMIN_IDS, RESTOCK_POLICY, PICKUP_WINDOW, PICKUP_REMINDER, OPENING_HOURS,
        CLOSED_DATES, TIMEZONE, MAX_ACTIVE_RESERVATIONS, LINE_UPDATES, HOLD_RATIO_TARGET,
        BOOK_METADATA_URL, BOOK_METADATA_TIMEOUT and DIGEST_AT."""
        hours = None
        if settings.opening_hours or settings.closed_dates:
            hours = ShopHours.parse(
                settings.opening_hours, settings.closed_dates, settings.shop_zone
            )
        return cls(
            settings.admin_ids,
            HoldPolicy(
                hold_in_line=settings.restock_policy == "hold_in_line",
                pickup_window=settings.pickup_window,
                pickup_reminder=settings.pickup_reminder,
                hours=hours,
            ),
            settings.shop_zone,
            settings.max_active_reservations,
            settings.line_updates == "on",
            settings.hold_ratio_target,
            settings.book_metadata_url,
            settings.book_metadata_timeout,
            WeeklyTime.parse(settings.digest_at) if settings.digest_at else None,
        )


@dataclass(frozen=True)
class Services:
    users: UserService
    books: BookService
    # The reader's reserve, reservations and cancel.
    reservations: ReservationService
    # The reader's /pause and /resume.
    pauses: PauseService
    # /until: the day a reservation is needed until, and the buttons after reserving.
    needed_until: NeededUntilService
    # Staff's /restock, under either RESTOCK_POLICY.
    restocks: RestockService
    # Staff's /withdraw.
    withdrawals: WithdrawalService
    notifications: NotificationService
    outbox: Outbox
    holds: HoldService
    # One pass of the hold expiry loop, which the Telegram layer runs with its dispatcher.
    hold_sweeper: HoldSweeper
    # The pass the loop runs: the hold sweeper's, then the line's own timed steps.
    line_upkeep: LineUpkeep
    cards: CardService
    demand: DemandService
    # A reader's Stop these updates.
    updates_choice: UpdatesChoice
    # Readers' /request; staff's /requests, /order and /decline.
    special_orders: SpecialOrderService
    # Staff's /digest (the weekly one is the line's loop's, DigestDue).
    digest: DigestService


class Messages(ReaderMessages, DigestMessages, Protocol):
    """Every message the services queue, worded by the Telegram layer."""


@dataclass(frozen=True)
class DigestDue:
    """The weekly digest as one of the line's steps (line and digest know nothing of
    each other)."""

    digests: DigestStep

    async def run(self) -> StepReport:
        return StepReport(await self.digests.send_due())


def build_services(
    engine: AsyncEngine,
    messages: Messages,
    shop: Shop = Shop(),
    clock: Clock = system_clock,
) -> Services:
    """The services; clock is where the line's rules read today from (a test's can cross
    midnight)."""
    sessions = create_session_factory(engine)
    admins = Admins(shop.admin_ids)
    policy, zone = shop.policy, shop.zone
    metadata = MetadataSource(shop.book_metadata_url, shop.book_metadata_timeout)
    books = BookService(sessions, admins, metadata)
    hold_sweeper = HoldSweeper(sessions, policy, zone, messages)
    # Lapsing first: a reservation whose day is over does not resume. Place updates
    # last: they tell the readers whom the steps before moved up, in the same pass.
    steps: dict[str, LineStep] = {
        "lapsed": LapseStep(sessions, zone, messages, clock),
        "resumed": ResumeStep(sessions, policy, zone, messages, clock),
    }
    if shop.line_updates:
        steps["places"] = PlaceUpdates(sessions, messages)
    digest_rules = DigestRules(zone, policy.hold_in_line, shop.hold_ratio_target)
    if shop.digest_at is not None:
        steps["digests"] = DigestDue(
            DigestStep(sessions, admins, shop.digest_at, digest_rules, messages, clock)
        )
    return Services(
        users=UserService(sessions, admins),
        books=books,
        reservations=ReservationService(
            sessions, messages, policy, zone, shop.max_active_reservations
        ),
        pauses=PauseService(sessions, messages, policy, zone, clock),
        needed_until=NeededUntilService(sessions, zone, clock),
        restocks=RestockService(sessions, admins, messages, policy, zone),
        withdrawals=WithdrawalService(sessions, admins, messages, zone),
        notifications=NotificationService(sessions, admins, zone),
        outbox=Outbox(sessions),
        holds=HoldService(sessions, admins, books, policy, zone),
        hold_sweeper=hold_sweeper,
        line_upkeep=LineUpkeep(hold_sweeper, steps),
        cards=CardService(sessions, zone),
        demand=DemandService(sessions, admins, zone, policy.hold_in_line, shop.hold_ratio_target),
        updates_choice=UpdatesChoice(sessions, shop.line_updates),
        digest=DigestService(sessions, admins, digest_rules, clock),
        special_orders=SpecialOrderService(sessions, admins, messages, metadata, zone),
    )

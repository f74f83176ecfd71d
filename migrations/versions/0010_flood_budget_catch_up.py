"""The flood budget's ledger spaces slots from where they were due, not from when they
were taken: a broadcast's slots, each taken a moment late, kept the bot at about 27 of
its 29 messages a second (bot/delivery/flood_budget/).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAKE_MESSAGE_SLOT = """
CREATE OR REPLACE FUNCTION take_message_slot(
    chat bigint, reply boolean, gap double precision, per_window integer,
    chat_gap double precision
) RETURNS TABLE (slot_id bigint, wait double precision, chat_busy boolean)
LANGUAGE plpgsql AS $$
DECLARE
    spacing interval := make_interval(secs => gap);
    now_at timestamptz;
    slot_at timestamptz;
    chat_free_at timestamptz;
    window_opens timestamptz;
    booked_at timestamptz;
    booked bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7413250810);
    now_at := clock_timestamp();
    DELETE FROM message_slots WHERE at < now_at - interval '30 seconds';
    -- A message still under way counts as sent now, for as long as a slow request may
    -- still reach Telegram (PTB's timeouts add up to about 16 s); one whose process
    -- died is forgotten after 20 s.
    SELECT max(greatest(s.at, coalesce(s.done_at, now_at))) + make_interval(secs => chat_gap)
        INTO chat_free_at
        FROM message_slots s WHERE s.chat_id = chat AND s.at > now_at - interval '20 seconds';
    SELECT w.counted + interval '1 second' INTO window_opens FROM (
        SELECT greatest(s.at, coalesce(s.done_at, now_at)) AS counted FROM message_slots s
        WHERE s.at > now_at - interval '20 seconds'
        ORDER BY counted DESC OFFSET per_window - 1 LIMIT 1
    ) w;
    -- From up to one spacing back: a slot taken a little late (each process asks when its
    -- own timer fires, and asking takes a round trip) leaves the next one spaced from
    -- where it was due, so the lateness does not add up to a slower rate. A message is
    -- never sent before its slot, so it still counts from before it reached Telegram.
    slot_at := greatest(now_at - spacing, window_opens);
    IF reply THEN
        slot_at := greatest(slot_at, chat_free_at);
    ELSIF chat_free_at > now_at THEN
        RETURN QUERY SELECT NULL::bigint, extract(epoch FROM chat_free_at - now_at)::float8, true;
        RETURN;
    END IF;
    -- The first moment from there one spacing away from every booked message: a reply
    -- booked ahead (for its chat) leaves the slots before it free.
    FOR booked_at IN
        SELECT s.at FROM message_slots s WHERE s.at > slot_at - spacing ORDER BY s.at
    LOOP
        EXIT WHEN booked_at >= slot_at + spacing;
        slot_at := booked_at + spacing;
    END LOOP;
    IF NOT reply AND slot_at > now_at THEN
        -- A broadcast takes only a slot free now: replies may book ahead of it.
        RETURN QUERY SELECT NULL::bigint, extract(epoch FROM slot_at - now_at)::float8, false;
        RETURN;
    END IF;
    INSERT INTO message_slots (at, chat_id) VALUES (slot_at, chat) RETURNING id INTO booked;
    RETURN QUERY SELECT booked, extract(epoch FROM slot_at - now_at)::float8, false;
END
$$
"""

# As migration 0007 created it.
PREVIOUS = """
CREATE OR REPLACE FUNCTION take_message_slot(
    chat bigint, reply boolean, gap double precision, per_window integer,
    chat_gap double precision
) RETURNS TABLE (slot_id bigint, wait double precision, chat_busy boolean)
LANGUAGE plpgsql AS $$
DECLARE
    spacing interval := make_interval(secs => gap);
    now_at timestamptz;
    slot_at timestamptz;
    chat_free_at timestamptz;
    window_opens timestamptz;
    booked_at timestamptz;
    booked bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7413250810);
    now_at := clock_timestamp();
    DELETE FROM message_slots WHERE at < now_at - interval '30 seconds';
    -- A message still under way counts as sent now, for as long as a slow request may
    -- still reach Telegram (PTB's timeouts add up to about 16 s); one whose process
    -- died is forgotten after 20 s.
    SELECT max(greatest(s.at, coalesce(s.done_at, now_at))) + make_interval(secs => chat_gap)
        INTO chat_free_at
        FROM message_slots s WHERE s.chat_id = chat AND s.at > now_at - interval '20 seconds';
    SELECT w.counted + interval '1 second' INTO window_opens FROM (
        SELECT greatest(s.at, coalesce(s.done_at, now_at)) AS counted FROM message_slots s
        WHERE s.at > now_at - interval '20 seconds'
        ORDER BY counted DESC OFFSET per_window - 1 LIMIT 1
    ) w;
    slot_at := greatest(now_at, window_opens);
    IF reply THEN
        slot_at := greatest(slot_at, chat_free_at);
    ELSIF chat_free_at > now_at THEN
        RETURN QUERY SELECT NULL::bigint, extract(epoch FROM chat_free_at - now_at)::float8, true;
        RETURN;
    END IF;
    -- The first moment from there one spacing away from every booked message: a reply
    -- booked ahead (for its chat) leaves the slots before it free.
    FOR booked_at IN
        SELECT s.at FROM message_slots s WHERE s.at > slot_at - spacing ORDER BY s.at
    LOOP
        EXIT WHEN booked_at >= slot_at + spacing;
        slot_at := booked_at + spacing;
    END LOOP;
    IF NOT reply AND slot_at > now_at THEN
        -- A broadcast takes only a slot free now: replies may book ahead of it.
        RETURN QUERY SELECT NULL::bigint, extract(epoch FROM slot_at - now_at)::float8, false;
        RETURN;
    END IF;
    INSERT INTO message_slots (at, chat_id) VALUES (slot_at, chat) RETURNING id INTO booked;
    RETURN QUERY SELECT booked, extract(epoch FROM slot_at - now_at)::float8, false;
END
$$
"""


def upgrade() -> None:
    op.execute(TAKE_MESSAGE_SLOT)


def downgrade() -> None:
    op.execute(PREVIOUS)

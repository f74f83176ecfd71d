"""One flood budget for several bot processes; a restock's message stored once.

- message_slots: the ledger of messages the bot's processes have sent or are about to
  send, and take_message_slot(), which books one under a lock shared by every process
  (bot/delivery/flood_budget/).
- restocks.message: the back-in-stock text, once per restock, instead of a copy in each
  of its outbox rows; notifications.text stays for messages of their own (NULL when the
  restock's message is meant). Existing rows move to the new shape and back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Booked under one advisory lock, so two processes never both take the last place in a
# second; clock_timestamp(), not now(), as the transaction may have waited for the lock.
TAKE_MESSAGE_SLOT = """
CREATE FUNCTION take_message_slot(
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
    op.create_table(
        "message_slots",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_message_slots"),
        # Seconds-old rows, worthless after a crash: no WAL, so a booking's commit
        # doesn't wait for the disk (7 ms a booking on a busy disk, 0.1 without).
        prefixes=["UNLOGGED"],
    )
    op.create_index("ix_message_slots_at", "message_slots", ["at"])
    op.create_index("ix_message_slots_chat_id", "message_slots", ["chat_id"])
    op.execute(TAKE_MESSAGE_SLOT)

    op.add_column("restocks", sa.Column("message", sa.Text(), nullable=True))
    op.alter_column("notifications", "text", existing_type=sa.Text(), nullable=True)
    # Every back-in-stock row of one restock carries the same text: keep it once, on the
    # restock (hold offers are each reader's own).
    op.execute(
        "UPDATE restocks r SET message = n.text FROM "
        "(SELECT DISTINCT ON (restock_id) restock_id, text FROM notifications "
        "WHERE kind = 'back_in_stock' ORDER BY restock_id, id) n WHERE n.restock_id = r.id"
    )
    op.execute(
        "UPDATE notifications n SET text = NULL FROM restocks r "
        "WHERE r.id = n.restock_id AND n.kind = 'back_in_stock' AND n.text = r.message"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE notifications n SET text = r.message FROM restocks r "
        "WHERE r.id = n.restock_id AND n.text IS NULL"
    )
    op.alter_column("notifications", "text", existing_type=sa.Text(), nullable=False)
    op.drop_column("restocks", "message")
    op.execute("DROP FUNCTION take_message_slot")
    op.drop_index("ix_message_slots_chat_id", table_name="message_slots")
    op.drop_index("ix_message_slots_at", table_name="message_slots")
    op.drop_table("message_slots")

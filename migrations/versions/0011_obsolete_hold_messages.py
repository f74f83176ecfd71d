"""A notification status for a hold's offer or reminder never sent because the hold had
ended while it waited in the outbox (bot/notifications/ended_holds.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Allowed in the migration's transaction since PostgreSQL 12; nothing here uses the
    # value, which may not be used before that transaction commits.
    op.execute("ALTER TYPE notification_status ADD VALUE IF NOT EXISTS 'obsolete'")


def downgrade() -> None:
    # PostgreSQL can't drop an enum value: the type is made again without it, and the
    # index whose predicate names the type with it.
    op.execute(
        "UPDATE notifications SET status = 'failed', "
        "last_error = 'obsolete: the hold had ended' WHERE status = 'obsolete'"
    )
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.execute("ALTER TABLE notifications ALTER COLUMN status DROP DEFAULT")
    op.execute("ALTER TYPE notification_status RENAME TO notification_status_0011")
    op.execute("CREATE TYPE notification_status AS ENUM ('pending', 'sent', 'failed')")
    op.execute(
        "ALTER TABLE notifications ALTER COLUMN status TYPE notification_status "
        "USING status::text::notification_status"
    )
    op.execute("ALTER TABLE notifications ALTER COLUMN status SET DEFAULT 'pending'")
    op.execute("DROP TYPE notification_status_0011")
    op.execute(
        "CREATE INDEX ix_notifications_due ON notifications (next_attempt_at, id) "
        "WHERE status = 'pending'"
    )

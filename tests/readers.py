"""Readers for service tests, and many of them at once for lines of any length."""

from bot.users.schemas import Reader

ALICE = Reader(1001, 1001, "alice", "Alice")
BOB = Reader(1002, 1002, "bob", "Bob")
CAROL = Reader(1003, 1003, None, "Carol")


def readers(count: int, first_id: int = 5000) -> list[Reader]:
    """count distinct readers, always the same ones for the same arguments."""
    return [Reader(first_id + n, first_id + n, None, f"Reader {n}") for n in range(count)]

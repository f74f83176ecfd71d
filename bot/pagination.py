"""Page arithmetic shared by every paginated list."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PageRequest:
    """Which page to show; a page beyond the last shows the last (buttons go stale)."""

    number: int
    size: int

    def clamped(self, total: int) -> "PageRequest":
        return PageRequest(max(1, min(self.number, page_count(total, self.size))), self.size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))

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

    def counting_limit(self, window: int) -> int:
        """How many matches to count for this page: the pages up to the end of its
        window of `window` pages, plus one to tell whether more follow. So a long list
        is counted only as far as the reader has come, and Next still leads on."""
        windows = -(-self.number // window)
        return windows * window * self.size + 1


def page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))

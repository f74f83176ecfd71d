from bot.errors import DomainError


class BookNotFound(DomainError):
    def __init__(self, book_id: int) -> None:
        super().__init__(book_id)
        self.book_id = book_id


class QuantityOutOfRange(DomainError):
    def __init__(self, maximum: int) -> None:
        super().__init__(maximum)
        self.maximum = maximum


class BookFieldInvalid(DomainError):
    """A title or author that is empty or too long."""

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(field, limit)
        self.field = field
        self.limit = limit


class DuplicateBook(DomainError):
    def __init__(self, book_id: int, title: str, author: str) -> None:
        super().__init__(book_id, title, author)
        self.book_id = book_id
        self.title = title
        self.author = author


class SearchTooLong(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class RepeatedInFile(DomainError):
    """The same title and author appear earlier in the file being imported."""

    def __init__(self, first_line: int) -> None:
        super().__init__(first_line)
        self.first_line = first_line


class MalformedRow(DomainError):
    """A catalog file row without exactly a title, an author and a quantity."""

    def __init__(self, field_count: int) -> None:
        super().__init__(field_count)
        self.field_count = field_count

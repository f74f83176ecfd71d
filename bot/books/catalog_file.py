"""Reading a catalog CSV (header `title,author,quantity`, optionally `,isbn`) into rows for
the import."""

import csv
from pathlib import Path

from bot.books.service import CatalogRow

HEADER = ("title", "author", "quantity")
# The same with each book's ISBN (ISBN-10 or ISBN-13, any hyphens; empty for none).
HEADER_WITH_ISBN = (*HEADER, "isbn")


class CatalogFileError(Exception):
    """The file as a whole cannot be read as a catalog; one line for the terminal."""


def read_catalog(path: Path) -> list[CatalogRow]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            columns = tuple(field.strip().lower() for field in header or ())
            if columns not in (HEADER, HEADER_WITH_ISBN):
                raise CatalogFileError(
                    "the first line must be the header: title,author,quantity "
                    "(or title,author,quantity,isbn)"
                )
            return [
                CatalogRow(reader.line_num, tuple(fields), columns == HEADER_WITH_ISBN)
                for fields in reader
                if any(field.strip() for field in fields)
            ]
    except FileNotFoundError:
        raise CatalogFileError(f"no such file: {path}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise CatalogFileError(f"{path} is not a UTF-8 CSV file: {error}") from None
    except IsADirectoryError:
        raise CatalogFileError(f"{path} is a folder, not a file") from None

"""Tables as CSV files a spreadsheet opens as they are."""

import csv
import io
from collections.abc import Iterable, Sequence


def csv_file(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheets read every script right."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8-sig")

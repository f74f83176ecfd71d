"""Bar charts as PNG images, drawn with matplotlib's Agg backend (no display needed).

Figures are made directly (not through pyplot's global state), so charts drawn at the
same time in different threads never share a figure.
"""

import io
from collections.abc import Sequence

# One colour per kind of reader, stacked left to right: waiting, on hold, paused.
WAITING_COLOUR = "#2f6f9f"
ON_HOLD_COLOUR = "#e0a030"
PAUSED_COLOUR = "#9fb8cc"
BAR_COLOURS = (WAITING_COLOUR, ON_HOLD_COLOUR, PAUSED_COLOUR)
LABEL_CHARACTERS = 36


def horizontal_bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    title: str,
    value_label: str,
    colours: Sequence[str] = BAR_COLOURS,
    notes: Sequence[str] = (),
) -> bytes:
    """A PNG with one bar per label, the first at the top, each with its total beside it;
    several series (name, values) are stacked in one bar, each in its colour (colours,
    in the same order), and named in a legend; a note, where given, follows a bar's total
    (the copies to order)."""
    # Imported here: matplotlib takes most of a second to load, and every bookstore-bot
    # command (the image's health check, each half minute) would pay it for nothing.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = 1.2 + 0.38 * max(len(labels), 1)
    # Fixed margins rather than a layout engine: laying out would draw the figure twice.
    figure = Figure(figsize=(9, height), dpi=100)
    figure.subplots_adjust(left=0.38, right=0.96, top=1 - 0.5 / height, bottom=0.6 / height)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(labels))
    totals = [0] * len(labels)
    for (name, values), colour in zip(series, colours, strict=False):
        axes.barh(positions, values, left=totals, color=colour, label=name)
        totals = [total + value for total, value in zip(totals, values, strict=True)]
    if len(series) > 1:
        axes.legend(loc="lower right", frameon=False)
    # Text is most of the drawing's time. Names and totals are plain texts, not tick
    # labels and bar labels (each tick is a set of artists of its own; a bar label is an
    # annotation): about a fifth less. Each bar carries its number, so the x axis needs
    # no ticks; the title is placed by hand (no layout pass), from the figure's left
    # edge so that a long one (a language's, a zone's) has the width.
    names = axes.get_yaxis_transform()
    beside = [*notes, *[""] * (len(labels) - len(notes))]
    for position, label, total, note in zip(positions, labels, totals, beside, strict=True):
        axes.text(-0.01, position, short(label), transform=names, ha="right", va="center")
        axes.text(total, position, f" {total}" + (f" ({note})" if note else ""), va="center")
    axes.set_yticks([])
    axes.set_xticks([])
    axes.invert_yaxis()
    figure.text(0.02, 1 - 0.25 / height, title, fontweight="bold", va="center")
    axes.set_xlabel(value_label)
    axes.margins(x=0.12)
    axes.spines[["top", "right"]].set_visible(False)
    image = io.BytesIO()
    # Light compression: a chart of flat colours is small anyway, and encoding was half
    # the time.
    figure.savefig(image, format="png", pil_kwargs={"compress_level": 1})
    return image.getvalue()


def short(label: str) -> str:
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"

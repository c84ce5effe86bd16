"""A hydrograph drawn with QPainter: predicted and observed streamflow (mm/day) over dates.

When the prediction CSV has the ensemble's member spread (``member_spread_p10``/``member_spread_p90``) and it is
not zero, it is drawn as a light band behind the predicted line ("Member spread (10–90%)" in the legend): how much
the model's members disagree, not a calibrated interval.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from qgis.PyQt.QtCore import QPointF, QRectF, QSize, Qt
from qgis.PyQt.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen
from qgis.PyQt.QtWidgets import QSizePolicy, QWidget

PREDICTED_COLOR = QColor(31, 119, 180)
OBSERVED_COLOR = QColor(60, 60, 60)
SPREAD_COLOR = QColor(198, 219, 239)  #: the member-spread band: a light shade of the predicted line's blue


@dataclass
class Hydrograph:
    """Daily series: ``predicted`` and ``observed`` aligned with ``dates`` (None = missing)."""

    dates: list[date]
    predicted: list[float | None]
    observed: list[float | None] = field(default_factory=list)
    title: str = ""
    nse: float | None = None
    kge: float | None = None
    in_sample: bool | None = None  #: the model was trained on this basin's flows: the scores are a fit
    spread_low: list[float | None] = field(default_factory=list)   #: members' 10th percentile (empty: none)
    spread_high: list[float | None] = field(default_factory=list)  #: members' 90th percentile (empty: none)

    @property
    def has_observed(self) -> bool:
        """True if at least one day has an observed value."""
        return any(v is not None for v in self.observed)

    @property
    def has_spread(self) -> bool:
        """True if the members disagree on at least one day (an ensemble of one has no band)."""
        return any(lo is not None and hi is not None and hi > lo
                   for lo, hi in zip(self.spread_low, self.spread_high, strict=False))


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_prediction_csv(path: str | Path, title: str = "", gauge_id: str | None = None) -> Hydrograph:
    """Read the backend's prediction CSV.

    Expected columns: ``date`` (ISO), a predicted column (name containing ``pred`` or ``sim``) and
    optionally an observed column (name containing ``obs``) and the member spread (``member_spread_p10`` and
    ``member_spread_p90``), in mm/day. With ``gauge_id``, only the rows of that gauge of a long table with a
    ``gauge_id`` column (as Processing's "Predict streamflow" writes).
    """
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        lower = {c.lower(): c for c in columns}
        date_col = lower.get("date") or (columns[0] if columns else None)
        pred_col = next((c for c in columns if "pred" in c.lower() or "sim" in c.lower()), None)
        obs_col = next((c for c in columns if "obs" in c.lower()), None)
        low_col = next((c for c in columns if c.lower() == "member_spread_p10"), None)
        high_col = next((c for c in columns if c.lower() == "member_spread_p90"), None)
        has_spread = low_col is not None and high_col is not None
        if date_col is None or pred_col is None:
            raise ValueError(f"{path}: needs a date column and a predicted streamflow column, got {columns}")
        dates, predicted, observed, low, high = [], [], [], [], []
        for row in reader:
            if gauge_id is not None and row.get("gauge_id", gauge_id) != gauge_id:
                continue
            dates.append(date.fromisoformat(row[date_col][:10]))
            predicted.append(_float(row[pred_col]))
            observed.append(_float(row[obs_col]) if obs_col else None)
            if has_spread:
                low.append(_float(row[low_col]))
                high.append(_float(row[high_col]))
    return Hydrograph(dates, predicted, observed if obs_col else [], title, spread_low=low, spread_high=high)


def nice_step(span: float, target_ticks: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving about ``target_ticks`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def date_ticks(first: date, last: date) -> list[tuple[date, str]]:
    """Tick dates with labels: years for long spans, months (or quarters) for short ones."""
    days = (last - first).days
    ticks: list[tuple[date, str]] = []
    if days > 3 * 365:
        step = max(1, round((last.year - first.year) / 8))
        for year in range(first.year + (first.month > 1 or first.day > 1), last.year + 1, step):
            ticks.append((date(year, 1, 1), str(year)))
        return ticks
    months = 1 if days <= 400 else 3
    year, month = first.year, first.month
    if first.day > 1:
        month += 1
    while True:
        year += (month - 1) // 12
        month = (month - 1) % 12 + 1
        tick = date(year, month, 1)
        if tick > last:
            return ticks
        if (month - 1) % months == 0:
            ticks.append((tick, tick.strftime("%Y-%m")))
        month += 1


def tick_decimals(step: float) -> int:
    """Decimals that print every multiple of ``step`` exactly (2.5 -> 1: 0.0, 2.5, 5.0; 0.25 -> 2; 50 -> 0)."""
    for decimals in range(7):
        if abs(round(step, decimals) - step) <= 1e-9 * max(1.0, abs(step)):
            return decimals
    return 6


class HydrographWidget(QWidget):
    """Plots a :class:`Hydrograph`; shows a message when there is none."""

    MARGIN_RIGHT = 14

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data: Hydrograph | None = None
        self._message = self.tr("Click a basin to see its hydrograph.")
        self.setMinimumSize(320, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        """The size the widget prefers in a layout."""
        return QSize(460, 280)

    def set_hydrograph(self, data: Hydrograph) -> None:
        """Plot ``data`` (a message instead if it holds no days)."""
        self._data = data if data.dates else None
        self._message = "" if self._data else self.tr("The prediction holds no days.")
        self.update()

    def show_message(self, message: str) -> None:
        """Clear the plot and show ``message`` in its place."""
        self._data = None
        self._message = message
        self.update()

    @property
    def hydrograph(self) -> Hydrograph | None:
        """The series plotted, None while a message is shown."""
        return self._data

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the hydrograph, or the message when there is none."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        if self._data is None:
            painter.setPen(QColor(90, 90, 90))
            painter.drawText(QRectF(self.rect()), int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap),
                             self._message)
            painter.end()
            return
        self._paint_plot(painter, self._data)
        painter.end()

    def _plot_rect(self, metrics: QFontMetrics, widest_label: str) -> QRectF:
        """The plot area: two text lines above (title, legend), two below (dates, period), labels left."""
        line = metrics.height()
        left = line + 10 + metrics.horizontalAdvance(widest_label)
        top = 2 * line + 10
        bottom = 2 * line + 12
        return QRectF(left, top, max(10.0, self.width() - left - self.MARGIN_RIGHT),
                      max(10.0, self.height() - top - bottom))

    def _paint_plot(self, painter: QPainter, data: Hydrograph) -> None:
        spread = data.has_spread
        values = [v for v in data.predicted + data.observed + (data.spread_high if spread else []) if v is not None]
        top = max(values) if values else 1.0
        step = nice_step(top if top > 0 else 1.0)
        y_max = step * math.ceil((top if top > 0 else 1.0) / step)
        metrics = QFontMetrics(painter.font())
        plot = self._plot_rect(metrics, f"{y_max:.{tick_decimals(step)}f}")
        first, last = data.dates[0], data.dates[-1]
        span = max(1, (last - first).days)

        def x_of(day: date) -> float:
            return plot.left() + plot.width() * (day - first).days / span

        def y_of(value: float) -> float:
            return plot.bottom() - plot.height() * value / y_max

        self._paint_y_axis(painter, plot, step, y_max, y_of, metrics)
        self._paint_x_axis(painter, plot, first, last, x_of, metrics)
        if spread:
            self._paint_band(painter, data.dates, data.spread_low, data.spread_high, x_of, y_of)
        if data.has_observed:
            self._paint_series(painter, data.dates, data.observed, x_of, y_of, QPen(OBSERVED_COLOR, 1.0))
        self._paint_series(painter, data.dates, data.predicted, x_of, y_of, QPen(PREDICTED_COLOR, 1.4))
        painter.setPen(QPen(QColor(0, 0, 0), 1.0))
        painter.drawRect(plot)
        self._paint_header(painter, data, plot, metrics)

    def _paint_y_axis(self, painter: QPainter, plot: QRectF, step: float, y_max: float,
                      y_of: Callable[[float], float], metrics: QFontMetrics) -> None:
        grid = QPen(QColor(225, 225, 225), 1.0)
        text = QPen(QColor(40, 40, 40))
        n = int(round(y_max / step))
        decimals = tick_decimals(step)
        for i in range(n + 1):
            value = i * step
            y = y_of(value)
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text)
            label = f"{value:.{decimals}f}"
            painter.drawText(QRectF(0, y - metrics.height() / 2, plot.left() - 6, metrics.height()),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), label)
        painter.save()
        painter.translate(2 + metrics.height() / 2, plot.center().y())
        painter.rotate(-90)
        label = self.tr("streamflow (mm/day)")
        if metrics.horizontalAdvance(label) > plot.height():
            label = self.tr("mm/day")
        painter.drawText(QRectF(-plot.height() / 2, -metrics.height() / 2, plot.height(), metrics.height()),
                         int(Qt.AlignmentFlag.AlignCenter), label)
        painter.restore()

    def _paint_x_axis(self, painter: QPainter, plot: QRectF, first: date, last: date,
                      x_of: Callable[[date], float], metrics: QFontMetrics) -> None:
        painter.setPen(QPen(QColor(40, 40, 40)))
        right_edge = -1e9
        for day, label in date_ticks(first, last):
            x = x_of(day)
            painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
            width = metrics.horizontalAdvance(label)
            left = x - width / 2
            if left < right_edge + 8 or x + width / 2 > self.width() - 2:
                continue  # would overlap the previous label or leave the widget
            painter.drawText(QRectF(left, plot.bottom() + 6, width, metrics.height()),
                             int(Qt.AlignmentFlag.AlignCenter), label)
            right_edge = left + width
        caption = f"{first.isoformat()} – {last.isoformat()}"
        painter.setPen(QPen(QColor(110, 110, 110)))
        painter.drawText(QRectF(plot.left(), plot.bottom() + 8 + metrics.height(), plot.width(), metrics.height()),
                         int(Qt.AlignmentFlag.AlignRight), caption)

    @staticmethod
    def _paint_series(painter: QPainter, dates: list[date], values: list[float | None],
                      x_of: Callable[[date], float], y_of: Callable[[float], float], pen: QPen) -> None:
        """Line through the values; a missing value breaks the line."""
        path = QPainterPath()
        drawing = False
        for day, value in zip(dates, values, strict=False):
            if value is None:
                drawing = False
                continue
            point = QPointF(x_of(day), y_of(value))
            if drawing:
                path.lineTo(point)
            else:
                path.moveTo(point)
                drawing = True
        painter.setPen(pen)
        painter.drawPath(path)

    @staticmethod
    def _paint_band(painter: QPainter, dates: list[date], low: list[float | None], high: list[float | None],
                    x_of: Callable[[date], float], y_of: Callable[[float], float]) -> None:
        """Fill between ``low`` and ``high`` (a day missing either breaks the band)."""
        runs: list[list[tuple[date, float, float]]] = [[]]
        for day, lo, hi in zip(dates, low, high, strict=False):
            if lo is None or hi is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append((day, lo, hi))
        path = QPainterPath()
        for run in runs:
            if not run:
                continue
            path.moveTo(QPointF(x_of(run[0][0]), y_of(run[0][2])))
            for day, _, hi in run[1:]:
                path.lineTo(QPointF(x_of(day), y_of(hi)))
            for day, lo, _ in reversed(run):
                path.lineTo(QPointF(x_of(day), y_of(lo)))
            path.closeSubpath()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.fillPath(path, SPREAD_COLOR)

    def _paint_header(self, painter: QPainter, data: Hydrograph, plot: QRectF, metrics: QFontMetrics) -> None:
        """Title and scores on the first line, legend on the second, both above the plot."""
        line = metrics.height()
        painter.setPen(QPen(QColor(0, 0, 0)))
        if data.nse is not None or data.kge is not None:
            scores = "  ".join(f"{name} {value:.2f}" for name, value in (("NSE", data.nse), ("KGE", data.kge))
                               if value is not None)
            if data.in_sample:
                scores += " " + self.tr("(in-sample)")
        else:
            scores = self.tr("no observations: no scores")
        width = plot.width()
        title_width = max(0, int(width) - metrics.horizontalAdvance(scores) - 12)
        title = metrics.elidedText(data.title, Qt.TextElideMode.ElideRight, title_width)
        painter.drawText(QRectF(plot.left(), 2, title_width, line),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), title)
        painter.drawText(QRectF(plot.left(), 2, width, line),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), scores)
        entries = [(self.tr("Predicted"), PREDICTED_COLOR, 1.4)]
        if data.has_observed:
            entries.append((self.tr("Observed"), OBSERVED_COLOR, 1.0))
        if data.has_spread:
            entries.append((self.tr("Member spread (10–90%)"), SPREAD_COLOR, 0.0))  # width 0: a filled swatch
        x, right = plot.left(), plot.right()
        swatch, gap = 22, 18
        texts = sum(metrics.horizontalAdvance(label) for label, _, _ in entries)
        if x + texts + len(entries) * (swatch + 4 + gap) - gap > right:  # too wide: a compact legend from the edge
            x, right, swatch, gap = 4.0, self.width() - 4.0, 10, 8
        y = 4 + line + line / 2
        for label, color, width in entries:
            if width:
                painter.setPen(QPen(color, width + 0.6))
                painter.drawLine(QPointF(x, y), QPointF(x + swatch, y))
            else:
                painter.fillRect(QRectF(x, y - line / 3, swatch, 2 * line / 3), color)
            painter.setPen(QPen(QColor(0, 0, 0)))
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, max(0, int(right - x - swatch - 4)))
            text_width = metrics.horizontalAdvance(text)
            painter.drawText(QRectF(x + swatch + 4, y - line / 2, text_width + 2, line),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
            x += swatch + 4 + text_width + gap

"""A linear classifier's class templates: each class's weights drawn as the image its features
are the pixels of (digits: 10 classes × 8×8 pixels), the current run's beside an earlier run's.

A linear classifier scores class k as w_k · x + b_k, so w_k, laid out as the image, is the
pattern the class looks for: red pixels count for it, blue against. At λ = 0 the templates
are noisy (each pixel fitted to 300 training rows); with weight decay they smooth into strokes.

Two pixels share a cell: the upper one is the cell's foreground (an upper half block ▀), the
lower one its background, so an 8×8 image takes 8 columns × 4 rows. Each run's templates share
one colour scale (its largest |w|), so its classes compare with each other; the scale is named
in the run's heading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from tui.state.run_state import RunState
from tui.theme import RGB

# Pixel features as scikit-learn's digits name them here ("px3_5": row 3, column 5).
PIXEL_NAME = re.compile(r"^(?:px|pixel)_?(\d+)_(\d+)$")
ZERO: RGB = (40, 40, 40)  # a weight of 0: near the background
POSITIVE: RGB = (255, 90, 60)  # counts for the class
NEGATIVE: RGB = (70, 150, 255)  # counts against it
GAP = 1  # columns between two templates
LABEL_ROWS = 1  # the class label over each template
HEADING_ROWS = 1  # the run's name and colour scale


@dataclass(frozen=True)
class ImageGrid:
    """Where each feature sits in the image: feature i is pixel (rows[i], cols[i])."""

    height: int
    width: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]


def image_grid(feature_names: Sequence[str]) -> ImageGrid | None:
    """The image the features are the pixels of, when every feature is named as a pixel and
    they fill a whole rectangle once; None otherwise (any other problem)."""
    places = []
    for name in feature_names:
        match = PIXEL_NAME.match(name)
        if match is None:
            return None
        places.append((int(match.group(1)), int(match.group(2))))
    if not places:
        return None
    height = max(r for r, _ in places) + 1
    width = max(c for _, c in places) + 1
    if len(set(places)) != len(places) or len(places) != height * width:
        return None
    rows, cols = zip(*places, strict=True)
    return ImageGrid(height, width, tuple(rows), tuple(cols))


def run_templates(run: RunState | None) -> np.ndarray | None:
    """(classes, height, width): each class's weights as its image, from the run's newest
    statistics; None unless the run is a linear classifier on pixel features whose statistics
    carry its weights (engine/models.py LINEAR_CLASSIFIER_WEIGHTS)."""
    if run is None or run.classes is None or run.config.model != "linear":
        return None
    grid = image_grid(run.feature_names)
    if grid is None or not run.param_stats:
        return None
    weight = next((s for s in run.param_stats if s.name == "weight"), None)
    if weight is None or weight.values is None or len(weight.shape) != 2:
        return None
    n_classes, n_features = weight.shape
    if n_features != len(grid.rows) or len(weight.values) != n_classes * n_features:
        return None
    flat = np.asarray(weight.values, dtype=np.float64).reshape(n_classes, n_features)
    images = np.zeros((n_classes, grid.height, grid.width))
    images[:, list(grid.rows), list(grid.cols)] = flat
    return images


def shows_templates(run: RunState | None) -> bool:
    """The run is one the templates view can draw (a linear classifier on pixel features)."""
    return (
        run is not None
        and run.classes is not None
        and run.config.model == "linear"
        and image_grid(run.feature_names) is not None
    )


def weight_color(value: float, scale: float) -> RGB:
    """A diverging colour: ZERO at 0, POSITIVE or NEGATIVE at ±scale (and beyond)."""
    if not math.isfinite(value) or scale <= 0:
        return ZERO
    share = min(1.0, abs(value) / scale)
    end = POSITIVE if value > 0 else NEGATIVE
    return (
        round(ZERO[0] + (end[0] - ZERO[0]) * share),
        round(ZERO[1] + (end[1] - ZERO[1]) * share),
        round(ZERO[2] + (end[2] - ZERO[2]) * share),
    )


def _cell_style(upper: RGB, lower: RGB) -> Style:
    return Style(color=Color.from_rgb(*upper), bgcolor=Color.from_rgb(*lower))


def template_rows(images: np.ndarray, labels: Sequence[str], per_row: int) -> list[Text]:
    """The templates, `per_row` side by side, each under its class label: lines of Text."""
    finite = images[np.isfinite(images)]
    scale = float(np.abs(finite).max()) if finite.size else 0.0
    _, height, width = images.shape
    lines: list[Text] = []
    for first in range(0, len(images), per_row):
        chunk = range(first, min(first + per_row, len(images)))
        label_line = Text()
        for k in chunk:
            label = labels[k] if k < len(labels) else str(k)
            label_line.append(label[:width].center(width) + " " * GAP, style="bold")
        lines.append(label_line)
        for top in range(0, height, 2):
            line = Text()
            for k in chunk:
                for col in range(width):
                    upper = weight_color(images[k, top, col], scale)
                    below = images[k, top + 1, col] if top + 1 < height else math.nan
                    lower = weight_color(below, scale) if top + 1 < height else (0, 0, 0)
                    line.append("▀", style=_cell_style(upper, lower))
                line.append(" " * GAP)
            lines.append(line)
    return lines


def block_rows(n_classes: int, image_height: int, per_row: int) -> int:
    """The rows one run's templates take, heading included, `per_row` to a row."""
    groups = -(-n_classes // max(1, per_row))
    return HEADING_ROWS + groups * (LABEL_ROWS + -(-image_height // 2))


def templates_text(
    current: RunState | None, earlier: RunState | None, width: int, height: int
) -> Text:
    """The current run's templates and, where they fit below, the earlier run's: what weight
    decay does to a classifier's templates (λ = 0 beside a good λ)."""
    images = run_templates(current)
    if current is None or images is None:
        return Text("class templates: for a linear model on pixel features (digits)", style="dim")
    labels = current.classes or ()
    n_classes, image_height, image_width = images.shape
    per_row = max(1, min(n_classes, (width + GAP) // (image_width + GAP)))
    # As few rows of templates as the width allows, balanced (10 as 5 + 5, not 9 + 1).
    per_row = -(-n_classes // -(-n_classes // per_row))
    blocks: list[tuple[RunState, np.ndarray]] = [(current, images)]
    other = run_templates(earlier)
    if earlier is not None and other is not None and other.shape == images.shape:
        blocks.append((earlier, other))
    text = Text()
    used = 0
    for i, (run, shown) in enumerate(blocks):
        rows = block_rows(n_classes, image_height, per_row)
        if i and used + rows > height:
            text.append(
                f"\n(the earlier run's templates need {rows} more rows: a taller terminal)",
                style="dim",
            )
            break
        finite = shown[np.isfinite(shown)]
        scale = float(np.abs(finite).max()) if finite.size else 0.0
        if i:
            text.append("\n")
        text.append("now " if i == 0 else "earlier ", style="dim")
        text.append(f"{run.label}  epoch {run.epoch}", style="bold" if i == 0 else "")
        text.append(f"  ■ +{scale:.3g}", style=Style(color=Color.from_rgb(*POSITIVE)))
        text.append(f" ■ −{scale:.3g}", style=Style(color=Color.from_rgb(*NEGATIVE)))
        for line in template_rows(shown, labels, per_row):
            text.append("\n")
            text.append_text(line)
        used += rows
    return text


class TemplatesView(Static):
    """Shown in place of the loss chart (the explorer's t)."""

    _current: RunState | None = None
    _earlier: RunState | None = None

    def show(self, current: RunState | None, earlier: RunState | None) -> None:
        self._current, self._earlier = current, earlier
        self.refresh()

    def render(self) -> Text:
        size = self.content_size
        return templates_text(self._current, self._earlier, size.width or 80, size.height or 24)

"""The look every view shares: the charts' colours (and their legends' swatches), the style of
each status word, and the floor under values on a log axis."""

from __future__ import annotations

from typing import TypeAlias

RGB: TypeAlias = tuple[int, int, int]

# Train and test read the same in every chart, legend and readout.
TRAIN_COLOR: RGB = (80, 180, 255)
TEST_COLOR: RGB = (255, 150, 40)
NORM_COLOR: RGB = (190, 140, 255)
RIDGE_COLOR: RGB = (130, 130, 130)
BEST_COLOR: RGB = (90, 220, 120)
MARK_COLOR: RGB = (150, 150, 150)  # a λ or lr change during a run
# The test loss of predicting the training targets' mean: the line a model must beat.
BASELINE_COLOR: RGB = (200, 200, 120)
# Earlier runs: muted, distinct hues, so two or three overlays can still be told apart.
OVERLAY_COLORS: tuple[RGB, ...] = (
    (120, 120, 170),
    (150, 120, 100),
    (110, 150, 110),
    (150, 110, 150),
)
# The regularization path's lines: distinct hues (its ridge optimum: the same hue, `dim`).
PATH_COLORS: tuple[RGB, ...] = (
    (80, 180, 255),
    (255, 150, 40),
    (90, 220, 120),
    (230, 90, 150),
    (200, 200, 80),
    (160, 120, 255),
    (80, 210, 210),
    (230, 120, 90),
)

LOG_FLOOR = 1e-30  # a loss or norm of exactly 0 would be -inf on a log axis

# The status word of a run or a sweep ("● running").
STATUS_STYLES = {
    "ready": "bold",
    "starting": "bold yellow",
    "running": "bold green",
    "paused": "bold yellow",
    "stopping": "bold yellow",
    "completed": "bold cyan",
    "stopped": "bold magenta",
    "diverged": "bold red",
    "failed": "bold red",
    "unfinished": "bold yellow",  # a saved run whose process was killed
}
ALERT_STYLE = "bold red"  # a line the person must act on (a setting refused)
WARNING_STYLE = "bold yellow"  # true, but worth knowing: unstable steps, stale results


def status_style(status: str) -> str:
    return STATUS_STYLES.get(status, "bold")


def message_style(status: str) -> str:
    """The style of the message a run or sweep ended with: red when it went wrong."""
    return "red" if status in ("diverged", "failed") else ""


def dim(color: RGB, amount: float = 0.5) -> RGB:
    r, g, b = color
    return (int(r * amount), int(g * amount), int(b * amount))


def swatch(color: RGB) -> str:
    """A colour as Rich writes it in a style ("#50b4ff")."""
    return "#{:02x}{:02x}{:02x}".format(*color)

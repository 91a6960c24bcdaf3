"""`?`: what λ means, the three regularization modes, and the keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP_TEXT = """\
# Weight decay, interactively

**Objective** = MSE(data) + **λ** · Σ ‖w‖² over the penalized parameters.
Weights (parameters with ≥ 2 dims) are penalized; biases only with `--decay-bias`.
λ = 0 is plain least squares; a larger λ pulls the weights towards 0
(less overfitting, more bias).

## The three modes (`mode`, `--reg`)

| mode | how λ is applied |
|---|---|
| `l2` | the penalty λ·Σ‖w‖² is added to the loss; the optimizer's weight_decay is 0 |
| `wd` | the optimizer's own `weight_decay = 2λ` on the penalized group |
| `none` | no penalty at all (the same as λ = 0) |

Why **2λ**: ∇(λ‖w‖²) = 2λw, and torch adds `weight_decay · w` to the gradient.
With SGD, `l2` and `wd` follow the same trajectory. With Adam, `wd` is L2 coupled into
the moment estimates; with **AdamW** it is *decoupled* decay (w ← w − lr·2λ·w),
which is not the same optimum as `l2`.

For a linear model the table shows each weight beside the closed-form **ridge optimum**
for the current λ: where SGD with `l2`/`wd` should end up.

## Keys

The Footer shows the first keys that fit (at 80 columns: `?` to `q` in the table below, and
`^p`). `ctrl+p` (or `:`) lists every command and finds them by what they do (`lambda`,
`decay`, `pace`); it also sets the next run's settings (`mode wd`, `preset poly`,
`epochs 500`), and "Save screenshot" saves an SVG of the screen in the runs folder.

| key | action |
|---|---|
| `?` | this help |
| `space` | pause / resume |
| `+` (or `=`) / `-` | λ × 10 / ÷ 10 (0 → 1e-4, below 1e-4 → 0) |
| `r` | restart: a new run from the start with the controls' settings (see below) |
| `n` | new run with the controls' settings; the current run stays on the chart, dimmed |
| `s` | stop the run |
| `w` | sweep view: train a whole λ grid at once and see the validation curve |
| `q` / `ctrl+q` | quit once the run and the sweep are stopped and saved (`q` again: at once) |
| `l` / `L` | edit λ / edit lr (Enter applies, Escape leaves the field) |
| `y` | linear / log y axis (the Footer names the axis it switches to) |
| `v` | the chart shows the loss, then the train and test accuracy (classification), then Σ‖w‖² |
| `x` | linear / log epoch axis (1, 10, 100, 1k…: grokking is read on one) |
| `t` | class templates (`digits`, linear): each class's weights as an 8×8 image, red for |
| | the class, blue against; the current run above the newest earlier one |
| `*` / `/` | lr × 2 / ÷ 2 |
| `[` / `]` | slower / faster: the pace, the most epochs per second a run trains at |
| `.` | while paused: train one more epoch, then pause again |
| `c` | clear the earlier runs from the chart |
| `m` / `M` | smoothing of the chart's curves stronger / weaker: 0.6, 0.8, 0.9, 0.95, 0.99, off |
| | (TensorBoard's EMA); the raw curve stays faint behind, the panel titles name the strength |
| `e` | export the chart: an SVG of the screen and a CSV of the drawn runs' numbers per epoch, |
| | side by side in the runs folder (`wdtui-<time>.svg`, `.csv`) |
| `D` | the run's files: in a terminal, a note names its folder; in a browser, they download |
| | (below): metrics.csv up to now, config.json, and weights.pt as the weights are now |
| `d` | the decay view: the decay of the live run, step by step (below) |
| `o` | runs screen: every run and sweep saved in the runs folder, earlier sessions' too |
| `enter` (runs screen) | open the folder: a run's full curve, a sweep in the sweep view |
| `a` (runs screen) | draw the run on this chart, dimmed, as `saved λ=… sgd` |
| `space` / `c` (runs screen) | mark a run / compare the two marked runs |
| `d` (runs screen) | delete the folder, after y/n (not the run training now) |
| `/` (runs screen) | filter the rows: words, or one column's value (`mode=wd`) |
| `s` / `S` / `g` (runs screen) | sort by the next column / reverse it / read the folder again |
| `Tab` | move between the fields and the next run's settings (shift+Tab: back) |
| `a` (sweep view) | apply the best λ to the live run; refused for results of other settings |
| `v` (sweep view) | a classification sweep: accuracy against λ, or the loss |
| `R` (sweep view) | sweeps train here (`off`) or on Ray: `local`, `auto`, `ray://HOST:PORT` |
| `D` (run view) | the run's files, or both compared runs' (as `D` in the explorer) |
| `ctrl+p` / `:` | command palette: every key, the next run's settings, "Save screenshot" |

## The decay view (`d`)

Six panels on the live run, updated as it trains (↑/↓, PageUp/PageDown scroll them at 80×24):

1. **data vs decay**: each epoch's update of the decayed weights, Δw = data part + decay part,
   as ‖data‖, ‖decay‖ and ‖Δw‖ per epoch (log y), and decay/data now. When the two balance
   (near 1, pulling opposite ways) ‖w‖ stops changing: the data pulls as hard as the decay
   shrinks.
2. **‖w‖² per decayed weight** over the epochs, one curve per layer.
3. **the shrink per step and τ**: what each step keeps of w on the decay's account, and how
   many steps (epochs) the decay takes to forget, for the λ, lr, optimizer and momentum in use.
4. **BatchNorm**: a weight that feeds a BatchNorm is scale-invariant; λ does not regularize
   it, it shrinks ‖W‖ and so raises its effective lr, lr/‖W‖² (`--norm batch`, an MLP).
5. **early stopping walks the ridge path** (a linear regression): gradient descent after t
   steps sits near ridge at λ_t = 1/(2·lr·t); the ridge path's ‖w*(λ)‖² is the line, the run's
   epochs the points.
6. **which parameters decay**: tensors and values, decayed and free.

What the decay part of a step is, per optimizer (the part the penalty's gradient 2λ·w, or
AdamW's decoupled shrink, contributes):

| optimizer | decay part of a step |
|---|---|
| SGD | −lr·2λ·w (l2 and wd alike) |
| SGD, momentum μ | −lr·b, the momentum buffer of 2λ·w alone: b ← μ·b + 2λ·w |
| Adam (l2 or wd), AdamW in l2 | −lr·m̂/(√v̂ + ε): m̂ from 2λ·w alone, the step's own √v̂ |
| AdamW in wd | the decoupled shrink, −lr·2λ·w |

| key (decay view) | action |
|---|---|
| `Escape` / `q` / `d` | back to the explorer |
| `space`, `+` / `-`, `*` / `/`, `r` | as in the explorer: the view follows |
| `b` | the next run decays the biases too, or not (the `decay` control) |
| `g` | the next run decays BatchNorm's γ and β too, or not (the `BN γβ` control) |

## In a browser (`wdtui serve`)

A browser keeps a few keys for itself; each has another that works there too:

| browser key | instead |
|---|---|
| `ctrl+p` (print) | `:` opens the command palette on every screen (the Footer shows `: palette`) |
| `ctrl+q` (quit) | `q` quits on the explorer, leaves any other screen (`Escape` first in a field) |
| `ctrl+w` (close tab) | `alt+backspace` deletes the word left of the cursor in a field |

`D` downloads the run's files as one zip, `<folder>.zip`, holding its metrics.csv, config.json
and weights.pt. A run still training sends its weights as they are between two steps, and
metrics.csv up to that epoch; a run that has ended, its files as saved.

Every run is saved in a folder of its own (under `--runs-dir`, unless `--no-save`): `r` and
`n` stop the current run and save it before the new one starts; `r` also takes it off the chart.

↑ / ↓, PageUp / PageDown, Home / End scroll this help. Press **Escape**, **?** or **q** to close.
"""


class HelpScreen(ModalScreen[None]):
    # At 80×24 the keys are below the fold: the scroll keys are the screen's own, so they scroll
    # the text from the start whatever has focus (no Tab first), and the text is focused on mount.
    AUTO_FOCUS = "#help-body"

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen #help-body {
        width: 90%;
        max-width: 100;
        height: 90%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
        Binding("up", "scroll('scroll_up')", "Scroll up", show=False),
        Binding("down", "scroll('scroll_down')", "Scroll down", show=False),
        Binding("pageup", "scroll('scroll_page_up')", "Page up", show=False),
        Binding("pagedown", "scroll('scroll_page_down')", "Page down", show=False),
        Binding("home", "scroll('scroll_home')", "Top", show=False),
        Binding("end", "scroll('scroll_end')", "Bottom", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(HELP_TEXT)

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()

    def action_scroll(self, method: str) -> None:
        """Scroll the text: `method` is one of VerticalScroll's scroll_* methods."""
        getattr(self.query_one("#help-body", VerticalScroll), method)(animate=False)

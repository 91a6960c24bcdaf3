"""What the decay view (`d`) says about a run, in numbers and words; no widgets, no torch.

Everything here reads a `RunState` (the explorer's view of a run, fed by the trainer's events)
and what the engine's torch-free helpers say: `engine.decay_timescale` for the shrink per step
and τ. The view imports the torch-backed pieces (the parameter counts, the ridge walk) itself,
once the engine has loaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.decay_timescale import decay_timescale, no_timescale_reason
from tui.state.run_state import RunState

BALANCE_WORDS = (
    "Δw = data + decay. Balanced (decay/data ≈ 1), ‖w‖ stops changing: the data pulls as hard "
    "as the decay shrinks."
)
BATCH_NORM_WORDS = (
    "these weights feed a BatchNorm: λ does not regularize them, it shrinks ‖W‖ and so raises "
    "their effective lr, lr/‖W‖²"
)
NO_BATCH_NORM = "no BatchNorm: `--norm batch` with an MLP (the norm control) shows it here"


def short(value: float | None) -> str:
    """A number in four significant figures ('0.001234', '1.2e-08'); '–' for none."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.4g}"


@dataclass(frozen=True)
class Balance:
    """The newest epoch's update split: ‖Δw‖, ‖data part‖, ‖decay part‖ and decay/data."""

    update: float | None
    data: float | None
    decay: float | None

    @property
    def ratio(self) -> float | None:
        """‖decay part‖ / ‖data part‖; None without both (inf when the data part is 0)."""
        if self.data is None or self.decay is None:
            return None
        if not (math.isfinite(self.data) and math.isfinite(self.decay)):
            return None
        if self.data == 0:
            return math.inf if self.decay > 0 else None
        return self.decay / self.data

    def words(self) -> str:
        """One line: the three norms now and what their ratio says."""
        if self.data is None and self.decay is None:
            return "no epoch with the update split yet"
        ratio = self.ratio
        numbers = (
            f"‖data‖ {short(self.data)}  ‖decay‖ {short(self.decay)}  "
            f"‖Δw‖ {short(self.update)}  decay/data {short(ratio)}"
        )
        if not self.decay:
            return f"{numbers}: nothing decays, the data alone move w"
        if ratio is None:
            return numbers
        if 0.8 <= ratio <= 1.25:
            return f"{numbers}: balanced, ‖w‖ has settled"
        if ratio < 0.8:
            return f"{numbers}: the data lead, ‖w‖ still moving"
        return f"{numbers}: the decay leads, w shrinking"


def balance(run: RunState) -> Balance:
    last = run.last
    if last is None:
        return Balance(None, None, None)
    return Balance(last.update_norm, last.data_update_norm, last.decay_update_norm)


def timescale_words(run: RunState, lam: float, lr: float) -> str:
    """The decay's shrink per step and its τ at this λ and lr, for this run's optimizer and
    momentum (engine/decay_timescale.py), or why it has none."""
    c = run.config
    timescale = decay_timescale(
        c.optimizer, c.reg, lam, lr, momentum=c.momentum, steps_per_epoch=run.steps_per_epoch
    )
    if timescale is None:
        return no_timescale_reason(c.optimizer, c.reg, lam)
    return timescale.words()


def setting_words(run: RunState, lam: float, lr: float) -> str:
    """What the shrink is computed for: 'λ 3, lr 0.003, sgd, l2, 1 step per epoch'."""
    c = run.config
    steps = run.steps_per_epoch
    parts = [f"λ {lam:g}", f"lr {lr:g}", c.optimizer]
    if c.optimizer == "sgd" and c.momentum:
        parts.append(f"momentum {c.momentum:g}")
    parts.append(c.reg)
    parts.append(f"{steps:,} step{'s' if steps != 1 else ''} per epoch")
    return ", ".join(parts)


def effective_lr_rows(run: RunState) -> list[tuple[str, float, float | None]]:
    """Per scale-invariant weight: (name, lr/‖W‖² at the newest epoch, at the first epoch),
    from the epochs' layer norms and lr (inf at ‖W‖ = 0; the first None when unknown)."""
    last = run.last
    if last is None or not run.scale_invariant:
        return []
    index = {name: i for i, name in enumerate(run.layer_names)}
    first_lr = run.lam_lr_changes[0][2] if run.lam_lr_changes else last.lr
    rows = []
    for name in run.scale_invariant:
        i = index.get(name)
        if i is None or i >= len(last.layer_sq_norms):
            continue
        first = run.layer_sq_norms[i].values(0, 1) if i < len(run.layer_sq_norms) else None
        first_value = (
            _effective(first_lr, float(first[0]))
            if first is not None and len(first) and math.isfinite(first[0])
            else None
        )
        rows.append((name, _effective(last.lr, last.layer_sq_norms[i]), first_value))
    return rows


def _effective(lr: float, sq_norm: float) -> float:
    return lr / sq_norm if sq_norm > 0 else math.inf


def lr_time(
    changes: Sequence[tuple[int, float, float]], epochs: np.ndarray, steps: int
) -> np.ndarray:
    """Σ lr over the optimizer steps up to the end of each of `epochs` (fractional epochs are
    read as their share), from the run's (first epoch, λ, lr) at each change: each epoch
    counts `steps` steps at the lr it reported, as engine/early_stopping.py's WalkClock."""
    total = np.zeros(len(epochs))
    for i, (start, _, lr) in enumerate(changes):
        end = changes[i + 1][0] - 1 if i + 1 < len(changes) else math.inf
        covered = np.clip(np.minimum(epochs, end) - start + 1, 0, None)
        total += covered * lr * steps
    return total


def walk_lams(run: RunState, epochs: np.ndarray) -> np.ndarray:
    """λ_t = 1/(2·Σ lr) at the end of each of `epochs`: where on the ridge path early stopping
    after that many steps sits (engine/early_stopping.py `lam_at_lr_time`); inf at 0."""
    with np.errstate(divide="ignore"):
        return 1.0 / (2.0 * lr_time(run.lam_lr_changes, epochs, run.steps_per_epoch))


__all__ = [
    "BALANCE_WORDS",
    "BATCH_NORM_WORDS",
    "NO_BATCH_NORM",
    "Balance",
    "balance",
    "effective_lr_rows",
    "lr_time",
    "setting_words",
    "short",
    "timescale_words",
    "walk_lams",
]

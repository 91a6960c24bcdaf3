"""The download key (D): a run's files for a person in a browser (`wdtui serve`), or where
they are.

In a terminal the files are already on the machine the person is logged in to, so D says which
folder holds them (Textual's delivery would copy them into ~/Downloads: on the server, over
SSH). In a browser the files go through Textual's delivery API as ONE zip, `<folder>.zip` holding
`<folder>/metrics.csv`, `config.json` and `weights.pt`: textual-serve's page opens each delivery
in a new window, and a browser's pop-up blocker lets only the first of several through.

A run that has ended is delivered from its folder, as it is. A live run has no weights.pt yet:
the explorer asks its trainer for a snapshot of the weights between two steps
(`Trainer.snapshot`), which is serialized as weights.pt is written, and metrics.csv is cut at
the snapshot's epoch, so the three files describe one moment.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from textual.app import App

from engine.events import WeightsSnapshot

if TYPE_CHECKING:  # torch loads after the first paint
    import torch

METRICS, CONFIG, WEIGHTS = "metrics.csv", "config.json", "weights.pt"
MIME_TYPES = {
    METRICS: "text/csv",
    CONFIG: "application/json",
    WEIGHTS: "application/octet-stream",
}
RUN_FILES = tuple(MIME_TYPES)  # in the order they are sent and named


@dataclass(frozen=True)
class Download:
    """One file for the browser: its contents (bytes, or a file to read) and the name it is
    saved under."""

    filename: str
    contents: bytes | Path
    mime_type: str

    def open(self) -> BinaryIO:
        if isinstance(self.contents, Path):
            return self.contents.open("rb")
        return io.BytesIO(self.contents)


def download_name(run_dir: Path, file: str) -> str:
    """`<run folder>/<file>`, its path in the zip: two runs' files never share a name."""
    return f"{run_dir.name}/{file}"


def archive_name(run_dirs: Sequence[Path]) -> str:
    """The zip's name: `<folder>.zip`, or the compared runs' folders joined by `+`."""
    return "+".join(run_dir.name for run_dir in run_dirs) + ".zip"


def folder_note(run_dir: Path, live: bool = False) -> str:
    """What D says in a terminal: the folder, shown literally (the caller passes
    markup=False), and which of the run's files it holds."""
    if live:
        files = f"{METRICS}, {CONFIG} ({WEIGHTS} when the run ends)"
    else:
        found, missing = saved_downloads(run_dir)
        files = ", ".join(f for f in RUN_FILES if f not in missing) or "none of its files"
        files += f" (no {', '.join(missing)})" if found and missing else ""
    return f"the run's files are in {run_dir.absolute()}: {files}"


def saved_downloads(run_dir: Path) -> tuple[list[Download], list[str]]:
    """A run's files as they are in its folder, and the names of those it lacks (a run killed
    before its end has no weights.pt)."""
    found, missing = [], []
    for file in RUN_FILES:
        path = run_dir / file
        if path.is_file():
            found.append(Download(download_name(run_dir, file), path, MIME_TYPES[file]))
        else:
            missing.append(file)
    return found, missing


def snapshot_downloads(run_dir: Path, snapshot: WeightsSnapshot) -> list[Download]:
    """A live run's files at `snapshot`: metrics.csv up to its epoch, config.json, and its
    weights as weights.pt. Reads and serializes (seconds for a large model or a long run):
    call it off the UI thread. Raises OSError when the folder cannot be read."""
    metrics = cut_metrics((run_dir / METRICS).read_bytes(), snapshot.epoch)
    contents = {
        METRICS: metrics,
        CONFIG: (run_dir / CONFIG).read_bytes(),
        WEIGHTS: serialized_weights(snapshot.state_dict),
    }
    return [Download(download_name(run_dir, f), contents[f], MIME_TYPES[f]) for f in RUN_FILES]


def cut_metrics(data: bytes, epoch: int) -> bytes:
    """metrics.csv's header and its rows up to `epoch`. The file grows while the run trains
    (and its last row may be half written): only whole rows up to `epoch` are kept, and the
    trainer flushed all of those before it sent the snapshot. Rows are in epoch order and
    only those written since are past `epoch`, so they are looked for from the end: a
    million-row file costs no more than a short one."""
    end = data.rfind(b"\n") + 1  # after the last whole row
    header_end = data.find(b"\n") + 1
    while end > header_end:
        start = data.rfind(b"\n", 0, end - 1) + 1  # the last row kept so far starts here
        if int(data[start : data.index(b",", start)]) <= epoch:
            break
        end = start
    return data[:end]


def serialized_weights(state_dict: Mapping[str, torch.Tensor]) -> bytes:
    """The bytes of a weights.pt holding `state_dict`, written as a finished run's is
    (engine/store `save_tensors`)."""
    from engine.store import save_tensors  # torch-backed: loaded by the time a run trains

    with tempfile.TemporaryDirectory(prefix="wdtui-download-") as folder:
        path = Path(folder) / WEIGHTS
        save_tensors(path, dict(state_dict))
        return path.read_bytes()


def deliver(app: App[object], downloads: Sequence[Download], archive: str) -> None:
    """Hand the files to the browser as one zip named `archive` (stored, not compressed: a
    large run's files are zipped in moments). A file that cannot be read raises OSError, and
    nothing is sent."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as zipped:
        for download in downloads:
            with download.open() as handle:
                zipped.writestr(download.filename, handle.read())
    packed.seek(0)
    app.deliver_binary(
        packed,
        save_filename=archive,
        open_method="download",
        mime_type="application/zip",
        name="download",
    )


def deliver_saved(app: App[object], run_dirs: Sequence[Path]) -> str:
    """Send the saved runs' files as they are, in one zip; returns what to say (one line)."""
    notes, sent, files = [], [], []
    for run_dir in run_dirs:
        found, missing = saved_downloads(run_dir)
        if not found:
            notes.append(f"nothing to download: {run_dir} has no {', '.join(RUN_FILES)}")
            continue
        sent.append(run_dir)
        files.extend(found)
        names = ", ".join(file for file in RUN_FILES if file not in missing)
        notes.append(
            f"{run_dir.name}: {names}" + (f" (it has no {', '.join(missing)})" if missing else "")
        )
    if not sent:
        return "; ".join(notes)
    try:
        deliver(app, files, archive_name(sent))
    except OSError as exc:  # deleted or unreadable since it was looked at
        return f"not downloaded: {exc.strerror or exc}"
    return f"downloading {archive_name(sent)}: " + "; ".join(notes)


def snapshot_note(run_dir: Path, snapshot: WeightsSnapshot, steps_per_epoch: int) -> str:
    """What a live run's download says: which epochs metrics.csv holds, and where in the run
    the weights were taken."""
    epoch, extra = snapshot.epoch, snapshot.step - snapshot.epoch * steps_per_epoch
    rows = f"epochs 1–{epoch:,}" if epoch else "no epoch yet"
    steps = f"{extra} steps of epoch {epoch + 1:,}"  # with minibatches, inside an epoch
    if epoch:
        at = f"after epoch {epoch:,}" + (f" and {steps}" if extra > 0 else "")
    else:
        at = f"after {steps}" if extra > 0 else "before the first step"
    return f"downloading {archive_name([run_dir])}: {METRICS} ({rows}), {CONFIG}, {WEIGHTS} ({at})"


__all__ = [
    "RUN_FILES",
    "Download",
    "archive_name",
    "cut_metrics",
    "deliver",
    "deliver_saved",
    "download_name",
    "folder_note",
    "saved_downloads",
    "serialized_weights",
    "snapshot_downloads",
    "snapshot_note",
]

"""Small JSON files a person may point at (a config.json, a results.json), read safely: a
regular file of bounded size, never /dev/zero's endless bytes, never a FIFO that blocks.

No torch here: the command line reads `--config` with it before torch is imported.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from engine.config import ConfigError

JSON_MAX_BYTES = 1 << 20  # a config.json is a few hundred bytes; 1 MiB is generous


class JsonFileError(ConfigError):
    """Why a JSON file cannot be used, in one line (without the file's name)."""


def read_json_object(path: str | Path) -> dict[str, Any]:
    """A small JSON file's object (a config.json, a results.json): a regular file of at most
    JSON_MAX_BYTES, read so (never /dev/zero's endless bytes, never a FIFO that blocks). Raises
    JsonFileError with the reason in one line (FileNotFoundError as it is)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise JsonFileError("not a regular file")
        with open(path, "rb") as handle:
            raw = handle.read(JSON_MAX_BYTES + 1)
        if len(raw) > JSON_MAX_BYTES:
            raise JsonFileError(
                f"larger than {JSON_MAX_BYTES // 1024} KiB (a config.json is a few hundred bytes)"
            )
        data = json.loads(raw.decode("utf-8"))
    except (FileNotFoundError, JsonFileError):
        raise
    except (OSError, ValueError) as exc:
        raise JsonFileError(one_line(exc)) from None
    except RecursionError:
        raise JsonFileError("nested too deeply") from None
    if not isinstance(data, dict):
        raise JsonFileError("not a JSON object")
    return data


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

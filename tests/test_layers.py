"""The layers hold: the headless commands load no UI; the import contracts cover every module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dev extra installs tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
UI_PACKAGES = ("textual", "textual_plotext", "plotext", "rich", "tui.app", "tui.screens")


def test_wdtui_run_and_sweep_never_import_the_ui() -> None:
    # The real entry point, in a fresh interpreter: what a person typing `wdtui run` loads.
    script = (
        "import json, sys\n"
        "from tui.cli import main\n"
        "codes = [main(['run', '--epochs', '2', '--no-save']),\n"
        "         main(['sweep', '--epochs', '2', '--lams', '0,1', '--no-save'])]\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {UI_PACKAGES[:4]!r}\n"
        f"                or m.startswith({UI_PACKAGES[4:]!r}))\n"
        "print(json.dumps({'codes': codes, 'loaded': loaded}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"codes": [0, 0], "loaded": []}


def test_wdtui_and_wdtui_run_never_import_ray() -> None:
    # Ray is the optional extra for `wdtui sweep --ray`; importing it costs ~0.3 s, which a
    # person typing `wdtui` or `wdtui run` must not pay. A sweep without --ray does not either.
    script = (
        "import sys\n"
        "from tui.cli import main\n"
        "import tui.app, tui.launch\n"
        "codes = [main(['run', '--epochs', '2', '--no-save']),\n"
        "         main(['sweep', '--epochs', '2', '--lams', '0,1', '--no-save'])]\n"
        "print(codes, sorted(m for m in sys.modules if m.split('.')[0] == 'ray'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[0, 0] []"


def test_the_training_core_contract_lists_every_engine_module_but_the_cli() -> None:
    # A forbidden contract only checks the modules it names: a new module must be named too.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (core,) = [c for c in contracts if c["forbidden_modules"] == ["engine.cli"]]
    top_level = {f"engine.{p.stem}" for p in (ROOT / "engine").glob("*.py") if p.stem != "__init__"}
    packages = {
        f"engine.{p.parent.name}"
        for p in (ROOT / "engine").glob("*/__init__.py")
        if p.parent.name != "cli"
    }
    assert set(core["source_modules"]) == top_level | packages

"""The headless commands, `wdtui run` and `wdtui sweep`: arguments, output, exit codes,
signals. The training core never imports this package (an import-linter contract)."""

"""The error a user's setting raises: one line, fit to show as is (engine/config.py re-exports
it; it lives here so that modules config.py imports can raise it too)."""


class ConfigError(ValueError):
    """A setting a user gave is not valid. The message is one line, fit to show as is."""


class DataError(ConfigError):
    """The data a user pointed at cannot be used. The message is one line."""


class StoreError(ConfigError):
    """A folder that is not a readable run or sweep. The message is one line."""

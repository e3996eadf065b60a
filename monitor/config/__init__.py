"""Configuration: every setting declared once, loaded from TOML, overridden from the environment.

Each section is a frozen dataclass whose fields carry their help text (``sections``); the keys
of the ``[[source]]`` and ``[[story]]`` tables are declared the same way (``tables``), and every
value goes through the same checks (``values``). ``SETTINGS`` and ``TABLE_KEYS`` are derived
from the declarations, so the documentation test and ``docs/configuration.md`` read the same
declaration. Any setting ``[section] key`` can be overridden by the environment variable
``MONITOR_<SECTION>_<KEY>`` (upper case). A mistake names the file, the key and what is wrong.

This package imports nothing heavier than tomllib: a command reads its configuration before it
imports the library, so a mistake is answered at once.
"""

from monitor.config.loader import Config, check_environment, from_mapping, load, variables
from monitor.config.reach import QUERY_KINDS, ReachSettings
from monitor.config.sections import (
    DEFAULT_DB_URL,
    LOG_FORMATS,
    LOG_LEVELS,
    SECTIONS,
    SETTINGS,
    EmailSettings,
    FetchSettings,
    LogSettings,
    MatchSettings,
    OpsSettings,
    PollSettings,
    Setting,
    StorageSettings,
    WebSettings,
)
from monitor.config.tables import STORY_KEYS, TABLE_KEYS, Recipient, Source, Story, TableKey
from monitor.config.values import one_of, parse_duration
from monitor.errors import ConfigError

__all__ = [
    "DEFAULT_DB_URL",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "QUERY_KINDS",
    "SECTIONS",
    "SETTINGS",
    "STORY_KEYS",
    "TABLE_KEYS",
    "Config",
    "ConfigError",
    "EmailSettings",
    "FetchSettings",
    "LogSettings",
    "MatchSettings",
    "OpsSettings",
    "PollSettings",
    "ReachSettings",
    "Recipient",
    "Setting",
    "Source",
    "StorageSettings",
    "Story",
    "TableKey",
    "WebSettings",
    "check_environment",
    "from_mapping",
    "load",
    "one_of",
    "parse_duration",
    "variables",
]

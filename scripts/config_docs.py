#!/usr/bin/env python3
"""Print the settings tables of docs/configuration.md from monitor.config.SETTINGS, and the
tables of the [[source]] and [[story]] keys from monitor.config.TABLE_KEYS.

    .venv/bin/python scripts/config_docs.py

One Markdown table per section, one row per setting: key as written in TOML, type, default (as
TOML), environment variable and help text; then one table per kind of table, one row per key:
key, type, whether it is required, default and help text. docs/configuration.md must contain
every row this prints, verbatim (tests/test_config.py checks it); paste the output there when a
setting or a key changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import SETTINGS, TABLE_KEYS, Setting, TableKey

HEADER = "| Key | Type | Default | Environment variable | Description |"
TABLE_HEADER = "| Key | Type | Required | Default | Description |"
RULE = "|---|---|---|---|---|"


def toml_value(value: Any) -> str:
    """``value`` as it would be written in the TOML file (a duration in seconds)."""
    if value is None:
        return '""'  # unset: TOML has no null, and an empty string means unset
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value == int(value) else repr(value)
    if isinstance(value, int | str | list | tuple):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"no TOML form for {value!r}")


def _human(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def default_cell(setting: Setting) -> str:
    if setting.default is None:  # an optional setting: TOML has no null, so it is left out
        return "unset"
    text = f"`{toml_value(setting.default)}`"
    if setting.type == "duration":
        text += f" ({_human(setting.default)})"
    return text


def row(setting: Setting) -> str:
    return (
        f"| `{setting.key}` | {setting.type} | {default_cell(setting)} | "
        f"`{setting.env}` | {setting.help} |"
    )


def table_row(key: TableKey) -> str:
    if key.shown is not None:
        default = key.shown
    else:
        default = "" if key.required else f"`{toml_value(key.default)}`"
    required = "yes" if key.required else "no"
    return f"| `{key.key}` | {key.type} | {required} | {default} | {key.help} |"


def tables() -> list[str]:
    lines: list[str] = []
    section = None
    for setting in SETTINGS:
        if setting.section != section:
            section = setting.section
            if lines:
                lines.append("")
            lines += [f"### `[{section}]`", "", HEADER, RULE]
        lines.append(row(setting))
    table = None
    for key in TABLE_KEYS:
        if key.table != table:
            table = key.table
            lines += ["", f"### `[[{table}]]`", "", TABLE_HEADER, RULE]
        lines.append(table_row(key))
    return lines


def main() -> int:
    print("\n".join(tables()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Print the settings tables of docs/configuration.md from monitor.config.SETTINGS.

    .venv/bin/python scripts/config_docs.py

One Markdown table per section, one row per setting: key as written in TOML, type, default (as
TOML), environment variable and help text. docs/configuration.md must contain every row this
prints, verbatim (tests/test_config.py checks it); paste the output there when a setting changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import SETTINGS, Setting

HEADER = "| Key | Type | Default | Environment variable | Description |"
RULE = "|---|---|---|---|---|"


def toml_value(value: Any) -> str:
    """``value`` as it would be written in the TOML file (a duration in seconds)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value == int(value) else repr(value)
    if isinstance(value, int | str | list):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"no TOML form for {value!r}")


def _human(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def default_cell(setting: Setting) -> str:
    text = f"`{toml_value(setting.default)}`"
    if setting.type == "duration":
        text += f" ({_human(setting.default)})"
    return text


def row(setting: Setting) -> str:
    return (
        f"| `{setting.key}` | {setting.type} | {default_cell(setting)} | "
        f"`{setting.env}` | {setting.help} |"
    )


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
    return lines


def main() -> int:
    print("\n".join(tables()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

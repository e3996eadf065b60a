"""The ``monitor`` command: a thin layer over the library. Each command parses its arguments and
its configuration, then calls one or two ``monitor`` functions and prints what a presenter makes
of the result.

- ``parser``: the command line, one function per group of commands;
- ``commands``, ``story``, ``sources``: one function per command (``cmd_*``);
- ``common``: options, configuration and the database session the commands share;
- ``present``: what they print.

Exit codes: 0 success; 1 the command ran but something failed (a page in ``extract``, a digest
delivery); 2 a user's mistake (configuration, arguments, unknown story), printed as one line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from monitor.cli.parser import build_parser
from monitor.errors import MonitorError, UserError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"monitor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except MonitorError as exc:
        print(f"monitor: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `monitor story export ... | head`: not an error; silence the interpreter's complaint.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

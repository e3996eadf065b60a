"""The ``monitor`` command: a thin layer over the library. Each command parses its arguments and
its configuration, then calls one or two ``monitor`` functions and prints what a presenter makes
of the result.

- ``parser``: the command line, one function per group of commands;
- ``commands``, ``story``, ``sources``: one function per command (``cmd_*``);
- ``common``: options, configuration and the database session the commands share;
- ``present``: what they print.

Exit codes: 0 success; 1 the command ran but something failed (a page in ``extract``, a digest
delivery, a source in ``poll``, a storage fault: full disk, corrupt database, a folder that
cannot be written); 2 a user's mistake (configuration, arguments, unknown story). Either is
printed as one line naming the file, setting or path, never as a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from monitor.cli.parser import build_parser
from monitor.errors import MonitorError, UserError
from storage.errors import DatabaseError

__all__ = ["build_parser", "main"]


def one_blas_thread() -> None:
    """numpy's OpenBLAS starts a thread per core at import, and they spin between its calls:
    0.2-0.3 CPU s of every command that imports numpy (`monitor sources` 0.80 -> 0.57 CPU s),
    for products of a few thousand numbers that one thread does faster. Set before numpy is
    imported, and inherited by the extraction processes; a value the user set is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"monitor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (MonitorError, DatabaseError) as exc:
        # DatabaseError: a storage fault met mid-command (full disk, corrupt page), naming the
        # database; storage.errors imports nothing, so catching it here loads no SQLAlchemy.
        print(f"monitor: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `monitor story export ... | head`: not an error; silence the interpreter's complaint.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A file or folder the command writes that the system refuses (a full disk, a
        # read-only folder) and no layer translated: still one line naming the path.
        print(f"monitor: error: {_os_error(exc)}", file=sys.stderr)
        return 1


def _os_error(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason

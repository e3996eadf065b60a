"""systemd's notification protocol (sd_notify(3)): a few lines over a Unix datagram socket.

Under ``Type=notify`` systemd sets ``NOTIFY_SOCKET`` and waits for ``READY=1`` before it counts
the service as started; with ``WatchdogSec=`` it also sets ``WATCHDOG_USEC`` (and
``WATCHDOG_PID``) and restarts the service when ``WATCHDOG=1`` stops coming. The protocol is one
datagram of ``KEY=value`` lines, so it needs no library (python-systemd would bring libsystemd's
bindings for this alone). A path starting with ``@`` is in the abstract namespace.

Without ``NOTIFY_SOCKET`` (not run by systemd) every call does nothing. A send that fails is
logged once and never stops the daemon: the notification is a courtesy, the work is the point.
Nor does a send ever wait: a datagram socket whose reader has fallen behind (its queue holds
``net.unix.max_dgram_qlen`` datagrams, 10 on many systems) would block ``sendto`` until it
reads, and a daemon blocked there stops polling and never stops on SIGTERM; such a send fails
at once (``MSG_DONTWAIT``) instead.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

from monitor.log import log

logger = logging.getLogger(__name__)


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        path = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + path[1:] if path.startswith("@") else path
        self.watchdog_s = _watchdog_seconds(env)
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *lines: str) -> bool:
        """Send ``lines`` (``READY=1``, ``STATUS=...``) as one datagram; whether it went."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(lines).encode("utf-8"), socket.MSG_DONTWAIT, self.address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log(logger, "notify_failed", level=logging.WARNING, error=str(exc))
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.watchdog_s is not None and self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping")


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog's period when it watches this process: WATCHDOG_USEC, unless WATCHDOG_PID
    names another process (a child started by the service must not feed its parent's dog)."""
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000

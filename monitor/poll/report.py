"""What one poll round did, counted as it goes and returned by ``monitor.poll.round.poll``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RoundReport:
    """What one poll round did; ``changed`` says whether any story file changed."""

    now: datetime
    sources_polled: int = 0
    sources_failed: int = 0
    sources_unchanged: int = 0
    entries_new: int = 0
    articles_new: int = 0
    originals: int = 0
    copies: int = 0
    off_topic: int = 0
    not_articles: int = 0
    page_errors: int = 0
    updates: int = 0
    removed: int = 0
    redirected: int = 0
    rechecked: int = 0
    stopped: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.originals or self.copies or self.updates or self.removed or self.redirected
        )

"""The time to build one digest (read the events, lay them out, compose both parts, nh3) of a
story with many events: the goal is under 200 ms for 1,000.

Run: ``.venv/bin/python benchmarks/digest.py [--events N] [--repeat N]``

The events are synthetic rows (``monitor.publish.digestview.EventRow``) shaped like the demo's:
a quarter new reports with their opening paragraph, a quarter copies of them, a quarter edits
with a correction, a headline change and a changed sentence, the rest removals. Timed: the pure
build and compose (``digestview.build`` then ``mail.compose``), best and median of
``--repeat``, in CPU and wall time; the archive read is measured by the tests' scale, not here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.publish import digestview, mail

NOW = datetime(2023, 3, 26, 14, tzinfo=UTC)
TEXT = (
    "OTTAWA — Canada and the United States have reached an agreement that would allow "
    "Canadian authorities to send back asylum seekers who cross the border. " * 8
)
DIFF = {
    "changed": [
        {
            "new_text": "Federal figures show that roughly 39,000 asylum claimants "
            "entered Canada there in 2022.",
            "edits": [
                {"op": "replace", "old": "29,000", "new": "39,000", "old_at": 5, "new_at": 5}
            ],
        }
    ]
}
KINDS = [
    {"kind": "headline", "evidence": {"old": "Deal to shut Roxham Road", "new": "Deal struck"}},
    {
        "kind": "correction",
        "evidence": {
            "replaced": [
                {
                    "old": "29,000",
                    "new": "39,000",
                    "type": "number",
                    "sentence": DIFF["changed"][0]["new_text"],
                }
            ]
        },
    },
]


def rows(n: int) -> list[digestview.EventRow]:
    out = []
    for i in range(n):
        at = NOW - timedelta(minutes=n - i)
        url = f"https://outlet{i % 40}.example/story/{i}"
        common = dict(
            at=at,
            day_only=False,
            article_id=i,
            outlet=f"Outlet {i % 40}",
            title=f"Report number {i} on the Roxham Road deal",
            url=url,
        )
        kind = i % 4
        if kind == 0:
            out.append(
                digestview.EventRow(
                    "first_report", relation="original", text=TEXT, new_outlet=i < 160, **common
                )
            )
        elif kind == 1:
            original = f"https://outlet{(i - 1) % 40}.example/story/{i - 1}"
            out.append(
                digestview.EventRow(
                    "copy", relation="copy", copy_of_url=original, copy_of_outlet="Outlet", **common
                )
            )
        elif kind == 2:
            out.append(digestview.EventRow("update", version=2, kinds=KINDS, diff=DIFF, **common))
        else:
            out.append(digestview.EventRow("removed", **common))
    return out


def build_once(events: list[digestview.EventRow], max_items: int) -> int:
    zone = ZoneInfo("America/Toronto")
    view = digestview.build(
        title="Roxham Road",
        slug="roxham-road",
        rows=events,
        now=NOW,
        zone=zone,
        max_items=max_items,
    )
    envelope = mail.Envelope(
        "desk@example.org",
        "news@example.org",
        "example.org",
        NOW,
        zone,
        base_url="https://news.example.org",
    )
    return len(bytes(mail.compose(view, envelope, now=NOW)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    events = rows(args.events)
    build_once(events, 100)  # templates compiled, zone loaded
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(
        "| events | max_items | message KB | best ms (CPU) | median ms (CPU) | median ms (wall) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for max_items in (100, args.events):
        cpu, wall = [], []
        for _ in range(args.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            size = build_once(events, max_items)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        print(
            f"| {args.events:,} | {max_items:,} | {size / 1024:.0f} | {min(cpu):.0f} | "
            f"{statistics.median(cpu):.0f} | {statistics.median(wall):.0f} |"
        )


if __name__ == "__main__":
    main()

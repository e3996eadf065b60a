"""Every field extract() returns on the 1,049 pages of ../shared/data, one line a page, to
prove that a change to monitor/extract/ left its output the same.

Run: ``.venv/bin/python benchmarks/extract_fields.py OUT`` in each checkout (before and after),
then ``cmp`` the two files. Pages: the three sets of benchmarks/extraction.py by their benchmark
URLs (519), then every file of ``article_html/*/html`` (530) at ``https://example.com/<name>``.
A line is the page's key, a tab, and ``repr()`` of its Extracted (or of the ExtractError).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.extraction import (  # noqa: E402
    DATA,
    load_mediacloud,
    load_trafilatura_eval,
    load_zyte,
)
from monitor.errors import ExtractError  # noqa: E402
from monitor.extract import extract  # noqa: E402


def pages() -> list[tuple[str, str, bytes]]:
    found = [
        (page.key, page.url, page.html)
        for load in (load_zyte, load_trafilatura_eval, load_mediacloud)
        for page in load()
    ]
    for path in sorted((DATA / "article_html").glob("*/html/*")):
        found.append(
            (str(path.relative_to(DATA)), f"https://example.com/{path.name}", path.read_bytes())
        )
    return found


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: extract_fields.py OUT")
    found = pages()
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        for key, url, html in found:
            try:
                line = repr(extract(html, url))
            except ExtractError as exc:
                line = f"ExtractError {str(exc)!r}"
            out.write(f"{key}\t{line}\n")
    print(f"{len(found)} pages -> {sys.argv[1]}")


if __name__ == "__main__":
    main()

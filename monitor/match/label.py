"""An analyst's label applied to a decision: the label decides, the matcher's verdict is kept
beside it. Pure: the label comes in as the story file's ``label`` object."""

from __future__ import annotations

import dataclasses
from typing import Any

from monitor.match.decision import Decision

# What a labelled decision adds to the matcher's reason; removed again when the label is.
_LABEL_KEYS = ("label", "matcher")


def label_reason(label: dict[str, Any]) -> str:
    note = f": {label['note']}" if label.get("note") else ""
    return f"labelled {label['value']} by the analyst{note}"


def matcher_of(match: dict[str, Any]) -> dict[str, Any]:
    """The matcher's own kind and reason in a stored decision, labelled or not."""
    if match.get("kind") == "label":
        return dict(match.get("matcher") or {})
    return {"kind": match.get("kind"), "reason": match.get("reason")}


def labelled_match(match: dict[str, Any], label: dict[str, Any]) -> dict[str, Any]:
    """A decision's reason once ``label`` decided it: kind ``label``, the label, and the
    matcher's kind and reason under ``matcher``; its scores and thresholds stay."""
    return match | {
        "kind": "label",
        "label": label,
        "matcher": matcher_of(match),
        "reason": label_reason(label),
    }


def unlabelled_match(match: dict[str, Any]) -> dict[str, Any]:
    """A decision's reason with its label withdrawn: the matcher's kind and reason again."""
    if match.get("kind") != "label":
        return match
    matcher = matcher_of(match)
    kept = {k: v for k, v in match.items() if k not in _LABEL_KEYS}
    return kept | {"kind": matcher.get("kind"), "reason": matcher.get("reason")}


def apply_label(
    decision: Decision, match: dict[str, Any], label: dict[str, Any]
) -> tuple[Decision, dict[str, Any]]:
    """The decision ``label`` makes of the matcher's ``decision``: ``in`` keeps a member (an
    original, or a copy of a member) and makes anything else an original; ``out`` makes it
    off-topic. The reason says the label decided."""
    reason = label_reason(label)
    new_match = labelled_match(match, label)
    is_member = decision.relation != "off_topic"
    if is_member == (label["value"] == "in"):
        return dataclasses.replace(decision, reason=reason), new_match
    kind = "same_story" if label["value"] == "in" else "off_topic"
    return dataclasses.replace(decision, kind=kind, leads_group=False, reason=reason), new_match

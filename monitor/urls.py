"""URL normalisation: one article, one key, whatever tracking junk a feed adds to its links."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, never the page.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "at_", "__twitter", "__s")
_TRACKING = {
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "igshid",
    "mkt_tok",
    "ocid",
    "cmpid",
    "ref_src",
    "ref_url",
    "_ga",
    "_gl",
    "cmp",
    "spm",
    "sr_share",
    "ito",
    "ns_mchannel",
    "ns_source",
    "ns_campaign",
    "ns_linkname",
    "ns_fee",
    "taid",
    "smid",
    "smtyp",
}


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _TRACKING and not k.lower().startswith(_TRACKING_PREFIXES)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))


def domain_of(url: str) -> str:
    """The host of ``url`` without a leading ``www.``, with its port when one is given."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}:{parts.port}" if parts.port else host


# The database's limit on a source's URL (storage.models.Source.url).
URL_MAX = 2048


class BadUrl(ValueError):
    """Why a URL cannot be a source. ``kind`` names the rule it breaks, so each caller can word
    the refusal its own way: ``syntax`` (urlsplit's own message), ``scheme`` (not http(s) with
    a host), ``space`` (whitespace or a control character) or ``length``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def check_source_url(url: str) -> str:
    """``url`` if it can be a source (an http(s) URL with a host, no whitespace or control
    character, at most URL_MAX characters); BadUrl saying why not. The one rule for the
    configuration's ``[[source]] url`` and for ``monitor sources add`` and ``import``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (urlsplit checks the port only when it is read)
    except ValueError as exc:
        raise BadUrl("syntax", str(exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUrl("scheme", "not an http(s) URL")
    # urlsplit silently drops tabs and newlines and keeps spaces; the URL would then be stored
    # and fetched as something other than what the file says.
    if any(char.isspace() or not char.isprintable() for char in url):
        raise BadUrl("space", "contains whitespace or a control character")
    if len(url) > URL_MAX:
        raise BadUrl("length", f"longer than {URL_MAX} characters")
    return url

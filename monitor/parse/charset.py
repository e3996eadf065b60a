"""Which encoding fetched bytes are in, decided once, in a fixed order. Pure: no I/O.

Order: a byte-order mark (it cannot be there by accident, and browsers let it override
everything); then the charset of the HTTP Content-Type; then what the document says of itself
(the ``<?xml ... encoding="..."?>`` prolog for XML, ``<meta charset>`` or
``<meta http-equiv=Content-Type>`` for HTML); then the bytes themselves (valid UTF-8, else
windows-1252). A declared candidate is taken only if it is a known encoding and decodes the
whole body strictly, so a server that says utf-8 over windows-1252 bytes falls through to the
next candidate instead of raising or producing U+FFFD.

One exception to the order: bytes that are valid UTF-8 and not plain ASCII are read as UTF-8
whatever legacy label the header or the document gives. A single-byte codec decodes any bytes
at all, so a strict decode proves nothing for it, while legacy text almost never forms valid
multi-byte UTF-8 by chance; "charset=iso-8859-1" on UTF-8 is a common server default, and a
copied prolog is a common template slip (Miniflux's reader makes the same call).

Labels are read as browsers read them (the WHATWG Encoding Standard): iso-8859-1, latin1 and
us-ascii mean windows-1252, gb2312 means GBK (decoded as its superset gb18030), shift_jis means
windows-31j, euc-kr means windows-949, and so on. Other spellings of the same encodings (and
UTF-32, which XML allows) are looked up in Python's codec registry.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Literal

# WHATWG encoding labels, grouped by the Python codec that decodes them.
_WHATWG_LABELS = {
    "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "cp866": "866 cp866 csibm866 ibm866",
    "iso8859-2": "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 "
    "iso_8859-2:1987 l2 latin2",
    "iso8859-3": "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 "
    "iso_8859-3:1988 l3 latin3",
    "iso8859-4": "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 "
    "iso_8859-4:1988 l4 latin4",
    "iso8859-5": "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 "
    "iso_8859-5 iso_8859-5:1988",
    "iso8859-6": "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 "
    "iso-8859-6 iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 "
    "iso_8859-6:1987",
    "iso8859-7": "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 "
    "iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    "iso8859-8": "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 "
    "iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual csiso88598i iso-8859-8-i logical",
    "iso8859-10": "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    "iso8859-13": "iso-8859-13 iso8859-13 iso885913",
    "iso8859-14": "iso-8859-14 iso8859-14 iso885914",
    "iso8859-15": "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    "iso8859-16": "iso-8859-16",
    "koi8-r": "cskoi8r koi koi8 koi8-r koi8_r",
    "koi8-u": "koi8-ru koi8-u",
    "mac-roman": "csmacintosh mac macintosh x-mac-roman",
    "cp874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    "cp1250": "cp1250 windows-1250 x-cp1250",
    "cp1251": "cp1251 windows-1251 x-cp1251",
    "cp1252": "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 "
    "iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252",
    "cp1253": "cp1253 windows-1253 x-cp1253",
    "cp1254": "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 "
    "iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254",
    "cp1255": "cp1255 windows-1255 x-cp1255",
    "cp1256": "cp1256 windows-1256 x-cp1256",
    "cp1257": "cp1257 windows-1257 x-cp1257",
    "cp1258": "cp1258 windows-1258 x-cp1258",
    "mac-cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "gb18030": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 "
    "x-gbk gb18030",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "euc_jp": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "iso2022_jp": "csiso2022jp iso-2022-jp",
    "cp932": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "cp949": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 "
    "ksc5601 ksc_5601 windows-949",
    "utf-16-be": "unicodefffe utf-16be",
    "utf-16-le": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
}
_LABELS = {label: codec for codec, labels in _WHATWG_LABELS.items() for label in labels.split()}
# Python codecs that browsers widen to a superset, for labels outside the WHATWG table.
_WIDER = {"ascii": "cp1252", "latin-1": "cp1252", "iso8859-1": "cp1252", "iso8859-9": "cp1254"}
# Other spellings Python knows are accepted when they name one of these codecs (UTF-32 is XML's,
# not the web's). Not the rest of Python's registry: utf-7 and unicode_escape let markup hide
# from filters, and idna, punycode or rot13 are no document encodings.
_CODECS = {*_WHATWG_LABELS, *_WIDER, "utf-32", "utf-32-le", "utf-32-be", "utf-16"}

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<" in UTF-32 and "<?" in UTF-16 without a BOM (XML 1.0 appendix F): the prolog cannot be
# read otherwise.
_WIDE_XML = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)

_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([^\s"';,]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(
    rb"""\A\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']\s*([A-Za-z0-9._:\-]+)\s*["']""", re.IGNORECASE
)
_META_CHARSET = re.compile(
    rb"""<meta\s[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE
)
# How far into an HTML page a <meta> charset is looked for; WHATWG's prescan reads 1024 bytes,
# real pages put long comments and scripts first.
_META_WINDOW = 4096

# windows-1252 as WHATWG defines it: the five bytes Python leaves undefined map to C1 controls,
# so the last resort never fails.
_CP1252_HIGH = {
    i: bytes([i]).decode("cp1252", errors="ignore") or chr(i) for i in range(0x80, 0xA0)
}

_WIDE = ("utf-16", "utf-32")

Markup = Literal["xml", "html"]


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec that decoded the bytes
    source: str  # bom, header, prolog, meta, utf-8 or fallback: which rule decided


def lookup(label: str | None) -> str | None:
    """The Python codec for an encoding label, read as a browser reads it; None if unknown."""
    if not label:
        return None
    name = label.strip(" \t\n\f\r\"'").lower()
    if name in _LABELS:
        return _LABELS[name]
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec not in _CODECS:
        return None
    return _WIDER.get(codec, codec)


def charset_from_content_type(value: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header value, if any."""
    match = _CHARSET_PARAM.search(value or "")
    return match.group(1) if match else None


def declared_encoding(body: bytes, markup: Markup) -> str | None:
    """The label the document declares for itself: XML prolog or HTML ``<meta>``."""
    if markup == "xml":
        match = _XML_ENCODING.match(body, 0, 512)
    else:
        match = _META_CHARSET.search(body, 0, _META_WINDOW)
    return match.group(1).decode("ascii") if match else None


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _self_declared(body: bytes, markup: Markup) -> str | None:
    """The codec the document declares for itself, corrected as browsers correct it."""
    if markup == "xml":
        for prefix, wide in _WIDE_XML:
            if body.startswith(prefix):
                return wide  # the prolog is only readable in this encoding anyway
    label = declared_encoding(body, markup)
    if label and markup == "html" and label.strip().lower() == "x-user-defined":
        return "cp1252"
    codec = lookup(label)
    if codec is not None and codec.startswith(_WIDE):
        return "utf-8"  # read from ASCII bytes, a UTF-16 declaration is wrong (WHATWG)
    return codec


def decode(body: bytes, content_type: str | None = None, *, markup: Markup = "xml") -> Decoded:
    """Decode fetched ``body`` following the module's order; never raises."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            # As browsers do: a BOM decides, and stray bad bytes become U+FFFD.
            text = body[len(bom) :].decode(bom_codec, errors="replace")
            return Decoded(text, bom_codec, "bom")
    utf8_text = _utf8(body)
    # Valid multi-byte UTF-8 beats a legacy label (see the module docstring).
    utf8_evidence = utf8_text is not None and not body.isascii()
    candidates = (
        ("header", lookup(charset_from_content_type(content_type))),
        ("prolog" if markup == "xml" else "meta", _self_declared(body, markup)),
    )
    for source, codec in candidates:
        if codec is None or (utf8_evidence and not codec.startswith(("utf-8", *_WIDE))):
            continue
        if codec == "utf-8":
            if utf8_text is not None:
                return Decoded(utf8_text, codec, source)
            continue
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec.startswith(_WIDE) and text.lstrip()[:1] != "<":
            continue  # ASCII bytes "decode" as UTF-16 too, into CJK noise
        return Decoded(text, codec, source)
    if utf8_text is not None:
        return Decoded(utf8_text, "utf-8", "utf-8")
    return Decoded(body.decode("latin-1").translate(_CP1252_HIGH), "cp1252", "fallback")

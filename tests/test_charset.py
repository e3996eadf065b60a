"""monitor.charset: which encoding fetched bytes are in, in what order the clues are taken."""

from __future__ import annotations

import codecs

import pytest

from monitor.parse.charset import charset_from_content_type, declared_encoding, decode, lookup

CAFE_1252 = "Café – 5 €".encode("cp1252")  # é, en dash and euro: three windows-1252 bytes
PROLOG_LATIN1 = b'<?xml version="1.0" encoding="ISO-8859-1"?>'


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("iso-8859-1", "cp1252"),
        ("Latin1", "cp1252"),
        ("US-ASCII", "cp1252"),
        (" utf8 ", "utf-8"),
        ('"UTF-8"', "utf-8"),
        ("gb2312", "gb18030"),
        ("shift_jis", "cp932"),
        ("euc-kr", "cp949"),
        ("tis-620", "cp874"),
        ("iso-8859-9", "cp1254"),
        ("utf-16", "utf-16-le"),
        ("latin-1", "cp1252"),  # not a WHATWG label; Python's codec, widened the same way
        ("koi8-r", "koi8-r"),
    ],
)
def test_labels_are_read_as_browsers_read_them(label: str, codec: str) -> None:
    """Encoding labels map to the codec a browser would use (Latin-1 and ASCII to 1252)."""
    assert lookup(label) == codec


@pytest.mark.parametrize(
    "label",
    ["foo", "utf-7", "rot13", "base64", "unicode_escape", "idna", "", None, "x-user-defined"],
)
def test_unknown_and_unsafe_labels_are_refused(label: str | None) -> None:
    """Unknown labels, UTF-7 and Python's non-text codecs are no encoding at all."""
    assert lookup(label) is None


@pytest.mark.parametrize(
    ("value", "charset"),
    [
        ("text/xml; charset=ISO-8859-1", "ISO-8859-1"),
        ('application/rss+xml; Charset="utf-8"', "utf-8"),
        ("text/html;charset='windows-1251'; foo=bar", "windows-1251"),
        ("application/xml", None),
        ("", None),
        (None, None),
    ],
)
def test_charset_parameter_of_content_type(value: str | None, charset: str | None) -> None:
    """The charset parameter is read from a Content-Type value, quoted or not, in any case."""
    assert charset_from_content_type(value) == charset


@pytest.mark.parametrize(
    ("body", "markup", "label"),
    [
        (b"<?xml version='1.0' encoding='koi8-r'?><rss/>", "xml", "koi8-r"),
        (b'  \n<?xml version="1.0"  encoding = "UTF-8" ?><rss/>', "xml", "UTF-8"),
        (b'<?xml version="1.0"?><rss encoding="latin1"/>', "xml", None),
        (b'<html><head><meta charset="windows-1251"></head></html>', "html", "windows-1251"),
        (
            b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">',
            "html",
            "Shift_JIS",
        ),
        (b"<html><head><title>no charset</title></head></html>", "html", None),
    ],
)
def test_documents_declare_their_own_encoding(body: bytes, markup: str, label: str | None) -> None:
    """The XML prolog's encoding and an HTML <meta> charset are found; nothing else is."""
    assert declared_encoding(body, markup) == label  # type: ignore[arg-type]


def test_header_says_utf8_but_bytes_are_windows_1252() -> None:
    """A wrong utf-8 header falls through to windows-1252: right text, no exception, no U+FFFD."""
    decoded = decode(b"<p>" + CAFE_1252 + b"</p>", "text/html; charset=utf-8", markup="html")
    assert decoded.text == "<p>Café – 5 €</p>"
    assert decoded.encoding == "cp1252"
    assert decoded.source == "fallback"


def test_no_header_and_prolog_says_iso_8859_1() -> None:
    """Without a header the prolog decides; ISO-8859-1 is read as windows-1252 (the € is 0x80)."""
    decoded = decode(PROLOG_LATIN1 + b"<t>" + CAFE_1252 + b"</t>")
    assert decoded.text.endswith("<t>Café – 5 €</t>")
    assert (decoded.encoding, decoded.source) == ("cp1252", "prolog")


def test_header_wrong_and_prolog_right() -> None:
    """A header charset the bytes cannot be decoded in gives way to the prolog's."""
    body = b'<?xml version="1.0" encoding="windows-1251"?><t>' + "Привет".encode("cp1251") + b"</t>"
    decoded = decode(body, "application/xml; charset=utf-8")
    assert decoded.text.endswith("<t>Привет</t>")
    assert (decoded.encoding, decoded.source) == ("cp1251", "prolog")


def test_header_takes_precedence_over_the_prolog_when_both_decode() -> None:
    """The HTTP charset comes first: bytes valid in both encodings are read in the header's."""
    body = b'<?xml version="1.0" encoding="koi8-r"?><t>' + "Грек".encode("cp1251") + b"</t>"
    decoded = decode(body, "text/xml; charset=windows-1251")
    assert decoded.text.endswith("<t>Грек</t>")
    assert decoded.source == "header"


def test_valid_utf8_beats_a_legacy_label() -> None:
    """UTF-8 bytes under a Latin-1 header and a Latin-1 prolog are read as UTF-8, not mojibake."""
    body = PROLOG_LATIN1 + "<t>테스트 café</t>".encode()
    decoded = decode(body, "text/xml; charset=iso-8859-1")
    assert decoded.text.endswith("<t>테스트 café</t>")
    assert decoded.encoding == "utf-8"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(codec: str) -> None:
    """A UTF-16 byte-order mark decides, even against a utf-8 header; the BOM is not in the text."""
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    text = '<?xml version="1.0" encoding="utf-16"?><t>Ünïcode ✓</t>'
    decoded = decode(bom + text.encode(codec), "application/xml; charset=utf-8")
    assert decoded.text == text
    assert (decoded.encoding, decoded.source) == (codec, "bom")


def test_utf8_bom_is_dropped() -> None:
    """A UTF-8 BOM decides the encoding and is not part of the text."""
    decoded = decode(codecs.BOM_UTF8 + "<t>é</t>".encode(), "text/xml; charset=iso-8859-1")
    assert (decoded.text, decoded.encoding) == ("<t>é</t>", "utf-8")


def test_utf16_xml_without_bom_is_recognised_from_its_first_bytes() -> None:
    """XML in UTF-16 without a BOM is read from the "<?" pattern, as XML appendix F says."""
    text = '<?xml version="1.0" encoding="UTF-16"?><t>é</t>'
    decoded = decode(text.encode("utf-16-be"))
    assert (decoded.text, decoded.encoding) == (text, "utf-16-be")


def test_unknown_label_is_skipped() -> None:
    """charset=foo is no encoding: the next clue (here valid UTF-8) decides, without an error."""
    decoded = decode("<t>naïve</t>".encode(), "text/xml; charset=foo")
    assert (decoded.text, decoded.encoding, decoded.source) == ("<t>naïve</t>", "utf-8", "utf-8")


def test_utf16_label_on_ascii_bytes_is_not_cjk_noise() -> None:
    """A utf-16 header or prolog on single-byte bytes does not turn them into CJK characters."""
    body = b'<?xml version="1.0" encoding="utf-16"?><t>plain</t>'
    decoded = decode(body, "application/xml; charset=utf-16")
    assert decoded.text == body.decode("ascii")


def test_html_meta_charset_and_x_user_defined() -> None:
    """An HTML <meta> charset is used for HTML; x-user-defined means windows-1252."""
    page = b'<html><head><meta charset="x-user-defined"></head><body>' + CAFE_1252 + b"</body>"
    decoded = decode(page, None, markup="html")
    assert "Café – 5 €" in decoded.text
    assert (decoded.encoding, decoded.source) == ("cp1252", "meta")


def test_last_resort_never_raises() -> None:
    """Bytes no codec accepts come out as windows-1252 with its five holes kept as C1 controls."""
    decoded = decode(b"\x81\x8d\x8f\x90\x9d\x80\xff", "text/plain; charset=utf-8")
    assert decoded.text == "\x81\x8d\x8f\x90\x9d€ÿ"
    assert (decoded.encoding, decoded.source) == ("cp1252", "fallback")


def test_every_codec_in_the_label_table_exists_in_python() -> None:
    """Each WHATWG encoding maps to a codec Python has, under that codec's own name."""
    from monitor.parse.charset import _WHATWG_LABELS  # the table itself, to check it whole

    for codec in _WHATWG_LABELS:
        assert codecs.lookup(codec).name == codec

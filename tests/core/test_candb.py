"""Vendor DBC files as they come: BOMs, UTF-16, Windows-874 Thai value names, empty or huge."""

import codecs

import pytest

from workshop.candb import MAX_DBC_BYTES, DbcError, dbc_text, load_dbc

DBC = (
    'VERSION ""\n\nBO_ 256 State: 1 BMS\n SG_ Mode : 0|2@1+ (1,0) [0|3] "°C" VCU\n\n'
    'VAL_ 256 Mode 0 "{off}" 1 "{on}" ;\n'
)


def _text(off="Off", on="On"):
    return DBC.replace("{off}", off).replace("{on}", on)


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        lambda t: t.encode("utf-16-le"),
        lambda t: t.encode("cp1252"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "cp1252"],
)
def test_every_encoding_loads_the_same_database(tmp_path, encode):
    path = tmp_path / "vendor.dbc"
    path.write_bytes(encode(_text()))
    db = load_dbc(path)
    signal = db.get_message_by_name("State").get_signal_by_name("Mode")
    assert signal.unit == "°C" and signal.choices[1] == "On"


def test_thai_value_names_in_windows_874(tmp_path):
    path = tmp_path / "thai.dbc"
    path.write_bytes(_text("ปิด", "เปิดใช้งาน").replace("°C", "C").encode("cp874"))
    choices = load_dbc(path).get_message_by_name("State").get_signal_by_name("Mode").choices
    assert str(choices[0]) == "ปิด" and str(choices[1]) == "เปิดใช้งาน"


@pytest.mark.parametrize("raw", [b"", b"  \n\r\n"], ids=["zero bytes", "blank"])
def test_empty_file_says_so(raw):
    with pytest.raises(DbcError, match="the file is empty"):
        dbc_text(raw)


def test_oversized_file_is_refused_before_parsing():
    with pytest.raises(DbcError, match="is refused"):
        dbc_text(b"x" * (MAX_DBC_BYTES + 1))


def test_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "bad.dbc"
    path.write_text('VERSION ""\n\nBO_ 256 Foo 1 VCU\n')
    with pytest.raises(DbcError) as caught:
        load_dbc(path)
    assert caught.value.line == 3 and "Invalid syntax" in str(caught.value)


def test_kits_check_parses_a_file_once(tmp_path):
    """Inside parse_once the database count_messages parsed goes to the next load_dbc of the same
    bytes (once); outside it, or for other bytes or strictness, every load parses afresh."""
    from workshop import candb
    from workshop.candb import count_messages, parse_once

    path = tmp_path / "vendor.dbc"
    path.write_text(_text())
    with parse_once():
        assert count_messages(path) == 1
        (counted,) = candb._parsed.get().values()
        first = load_dbc(path)
        assert first is counted
        assert load_dbc(path) is not first  # handed over once, then forgotten
        count_messages(path)
        assert load_dbc(path, strict=False) is not first  # not what was counted
    count_messages(path)
    assert load_dbc(path) is not first


def test_a_comment_before_the_first_keyword_is_a_dbc(tmp_path):
    path = tmp_path / "vendor.dbc"
    path.write_text("// exported by the vendor's tool\r\n// v2\n" + _text())
    assert load_dbc(path).get_message_by_name("State")


def test_cantools_lists_on_one_line(tmp_path):
    path = tmp_path / "vendor.dbc"
    path.write_text(_text() + 'VAL_ 256 Gone 0 "x" ;\nVAL_ 512 Lost 1 "y" ;\n')
    with pytest.raises(DbcError) as caught:
        load_dbc(path)
    assert str(caught.value) == (
        "VAL_ entries for signals that no message defines: VAL_ 256 Gone, VAL_ 512 Lost"
    )
    assert caught.value.by_cantools

"""`workshop kits check` validates a kit as a whole: kit.toml, the CAN database and eol.toml."""

import re
import shutil
import time
from pathlib import Path

import pytest

from workshop.cli import cli
from workshop.eol.definitions import kit_specs_root, list_kits

FOREIGN_DBC = """VERSION ""

BU_: VCU BMS

BO_ 1570 GenericStatus: 8 VCU
 SG_ Speed : 0|16@1+ (0.01,0) [0|655.35] "km/h" BMS
 SG_ Gear : 16|4@1+ (1,0) [0|15] "" BMS
"""


@pytest.fixture
def kit_copy(tmp_path):
    folder = tmp_path / "kits" / "jazz-ev1"
    shutil.copytree(kit_specs_root() / "jazz-ev1", folder)
    return folder


def check(app, folder):
    return app.test_cli_runner().invoke(cli, ["kits", "check", str(folder.parent)])


def test_the_shipped_kits_pass(app):
    r = app.test_cli_runner().invoke(cli, ["kits", "check"])
    assert r.exit_code == 0, r.output
    # one line per shipped kit, no warning
    assert len(r.output.splitlines()) == len(list_kits())


def test_a_typo_in_eol_toml_is_caught(app, kit_copy):
    eol = kit_copy / "eol.toml"
    eol.write_text(eol.read_text().replace("pack_voltage = {", "pack_votlage = {"))
    r = check(app, kit_copy)
    assert r.exit_code == 1 and "did you mean 'pack_voltage'" in r.output


def test_a_foreign_dbc_names_the_missing_signals(app, kit_copy):
    (kit_copy / "vehicle.dbc").write_text(FOREIGN_DBC)
    r = check(app, kit_copy)
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert re.search(r"VCU_Heartbeat|BMS_PackStatus", r.output)


def test_two_frames_with_one_id_are_caught(app, kit_copy):
    dbc = kit_copy / "vehicle.dbc"
    text = dbc.read_text(encoding="cp1252")
    first_id = re.findall(r"^BO_ (\d+) \w+:", text, flags=re.M)[0]
    copy = f'\nBO_ {first_id} SameIdCopy: 8 BMS\n SG_ Extra : 0|8@1+ (1,0) [0|255] "" VCU\n'
    text = text.replace("\nBO_ ", copy + "\nBO_ ", 1)
    dbc.write_text(text, encoding="cp1252")
    r = check(app, kit_copy)
    assert r.exit_code == 1, r.output
    assert "is used by 2 messages" in r.output and "SameIdCopy" in r.output


def test_limits_that_exclude_the_packs_own_maximum_are_caught(app, kit_copy):
    eol = kit_copy / "eol.toml"
    text = eol.read_text()
    text = re.sub(r"pack_voltage_v = \[[^\]]*\]", "pack_voltage_v = [250.0, 300.0]", text)
    if "pack_voltage_v = [250.0, 300.0]" not in text:
        text = text.replace("[limits.bms]", "[limits.bms]\npack_voltage_v = [250.0, 300.0]", 1)
    eol.write_text(text)
    r = check(app, kit_copy)
    assert r.exit_code == 1 and "does not contain the pack's maximum" in r.output


def test_a_manual_and_the_eol_limits_must_say_the_same(app, tmp_path):
    """The Vios manual's road-test step accepts a precharge of up to 3 s: an eol.toml allowing 5 s
    for the same car is refused, naming both places."""
    folder = tmp_path / "kits" / "vios-ev1"
    shutil.copytree(kit_specs_root() / "vios-ev1", folder)
    eol = folder / "eol.toml"
    text = eol.read_text(encoding="utf-8")
    assert "precharge_within_s = 3.0" in text
    eol.write_text(text.replace("precharge_within_s = 3.0", "precharge_within_s = 5.0"), "utf-8")
    r = check(app, folder)
    assert r.exit_code == 1
    assert (
        "vios-ev1/eol.toml: limits.bms.precharge_within_s: 5 but manual 'toyota-vios-ncp93' "
        "step 'final-03' accepts precharge_time_s up to 3" in r.output
    )


def test_a_changed_safety_limit_without_its_source_is_a_warning(app, kit_copy):
    """The LFP profile's source stands for its value: a kit that changes the value needs its own."""
    eol = kit_copy / "eol.toml"
    text = eol.read_text(encoding="utf-8")
    eol.write_text(text.replace("vacuum_min_kpa = 54.0", "vacuum_min_kpa = 50.0"), "utf-8")
    r = check(app, kit_copy)
    assert r.exit_code == 0, r.output  # a warning, not an error
    (warning,) = [line for line in r.output.splitlines() if line.startswith("WARNING")]
    assert warning.startswith(
        "WARNING jazz-ev1/eol.toml: limits.brakes.vacuum_min_kpa: a safety limit without a source"
    )
    eol.write_text(
        eol.read_text(encoding="utf-8")
        + '\n[sources]\n"brakes.vacuum_min_kpa" = "Booster maker letter 2026-11: 50 kPa is enough"\n',
        "utf-8",
    )
    r = check(app, kit_copy)
    assert r.exit_code == 0 and "WARNING" not in r.output, r.output


def test_a_source_for_no_limit_is_an_error(app, kit_copy):
    eol = kit_copy / "eol.toml"
    eol.write_text(
        eol.read_text(encoding="utf-8") + '\n[sources]\n"bms.precharge_within" = "BMS datasheet"\n',
        "utf-8",
    )
    r = check(app, kit_copy)
    assert r.exit_code == 1
    assert "'bms.precharge_within' names no limit" in r.output


FOREIGN = sorted((Path(__file__).parent / "data" / "foreign_dbc").glob("*.dbc"))


@pytest.mark.parametrize("foreign", FOREIGN, ids=[p.stem for p in FOREIGN])
def test_every_foreign_dbc_in_a_shipped_kit_is_named_not_a_traceback(app, kit_copy, foreign):
    """Issue 13's folder of foreign CAN databases (vendor styles, encodings, empty, not a DBC), each
    put in a copy of the Jazz kit: `kits check` exits 1 and says what is wrong or missing."""
    shutil.copyfile(foreign, kit_copy / "vehicle.dbc")
    # CPU seconds, not wall time: a loaded machine must not fail it.
    started = time.process_time()
    r = check(app, kit_copy)
    elapsed = time.process_time() - started
    assert r.exit_code == 1, r.output
    assert (
        "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    )
    if foreign.stat().st_size == 0:
        assert "vehicle.dbc" in r.output and "the file is empty" in r.output
    elif foreign.stem == "spreadsheet":
        assert "not a CAN database (DBC) file: it begins with 'Message,ID,Signal" in r.output
    elif foreign.stem == "not_a_dbc":
        assert "vehicle.dbc" in r.output and "a binary file, not a DBC text file" in r.output
    else:  # read whatever its encoding: the frames the kit maps are named as missing
        assert "signals.ecu_heartbeat: no message 'VCU_Heartbeat' in the DBC" in r.output
        assert "tester_node: the DBC has no node 'EOL_Tester'" in r.output
    assert elapsed < 30, elapsed

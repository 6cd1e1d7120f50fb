"""Kit EOL definitions: the three kits load, and every broken file gets a precise message."""

import shutil

import pytest

from workshop.eol.definitions import EolDefinitionError, kit_specs_root, list_kits, load_kit
from workshop.eol.semantics import SEMANTICS

KITS = ["jazz-ev1", "vios-ev1", "dmax-ev2", "dmax-ev2-vendor"]


@pytest.fixture
def kit_copy(tmp_path):
    """Return a callable that copies a kit into tmp_path and returns its folder."""

    def make(kit_id="jazz-ev1", new_id=None):
        dest = tmp_path / (new_id or kit_id)
        shutil.copytree(kit_specs_root() / kit_id, dest)
        if new_id:
            edit(dest / "eol.toml", f'kit = "{kit_id}"', f'kit = "{new_id}"')
        return dest

    return make


def edit(path, old, new, encoding="utf-8"):
    """Replace one exact piece of text in a file (fails loudly if it is not there)."""
    text = path.read_text(encoding=encoding)
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding=encoding)


def problems_of(directory):
    with pytest.raises(EolDefinitionError) as caught:
        load_kit(directory)
    return caught.value.problems


def test_kit_specs_root_is_the_repository_folder():
    root = kit_specs_root()
    assert root.name == "kit_specs"
    assert (root.parent / "workshop" / "eol" / "definitions.py").is_file()


def test_list_kits_finds_the_three_kits():
    assert set(KITS) <= set(list_kits())


@pytest.mark.parametrize("kit_id", KITS)
def test_every_kit_loads_and_binds_everything_the_engine_uses(kit_id):
    kit = load_kit(kit_id)
    assert kit.kit_id == kit_id
    assert len(kit.indexed("cell_voltage")) == 100
    for name in (
        "pack_voltage",
        "isolation_resistance",
        "brake_vacuum",
        "key_switch",
        "alarm_test",
        "vehicle_state",
        "contactor_state",
        "ecu_heartbeat",
    ):
        assert kit.has(name), name
    assert kit.limits.bms.isolation_min_ohm == pytest.approx(36_500)
    assert kit.limits.bms.pack_voltage_v == (250.0, 365.0)
    assert len(kit.eol_sha256) == len(kit.dbc_sha256) == 64


def test_units_in_the_dbc_are_converted_to_engine_units():
    jazz = load_kit("jazz-ev1")
    cell = jazz.indexed("cell_voltage")[36]
    assert cell.label == "BMS_CellV_10.BMS_Cell037_mV"
    assert cell.to_engine(3710) == pytest.approx(3.71)  # mV in the DBC
    assert jazz.binding("isolation_resistance").to_engine(36.5) == pytest.approx(36_500)  # kOhm
    ready = jazz.binding("vehicle_state")
    assert ready.is_state(3, "ready") and ready.is_state(4, "ready")  # READY and DRIVE
    assert ready.describe(2) == "PRECHARGE"


def test_the_third_party_bms_differs_only_in_data():
    jazz, dmax = load_kit("jazz-ev1"), load_kit("dmax-ev2")
    jazz_cell, dmax_cell = jazz.indexed("cell_voltage")[36], dmax.indexed("cell_voltage")[36]
    assert dmax_cell.message.is_multiplexed() and not jazz_cell.message.is_multiplexed()
    assert dmax_cell.signal.byte_order == "big_endian" != jazz_cell.signal.byte_order
    assert dmax_cell.message.is_extended_frame and dmax_cell.signal.scale == pytest.approx(0.0001)
    assert dmax_cell.label == "BMU_CellVoltages.BMU_U_Cell037"
    # absolute booster pressure mapped to vacuum by scale/offset in eol.toml
    assert dmax.binding("brake_vacuum").to_engine(47.3) == pytest.approx(54.0)
    # alarms are bits of one fault word
    overtemp = dmax.binding("alarm_over_temperature")
    assert overtemp.to_engine(0b100) is True and overtemp.to_engine(0b011) is False
    assert dmax.binding("alive_counter").modulo == 256
    assert jazz.binding("alive_counter").modulo == 16
    assert dmax.binding("ecu_heartbeat").period_s == pytest.approx(0.05)


def test_missing_signal_is_named_with_what_the_message_has(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", 'signal = "BMS_PackVoltage"', 'signal = "BMS_PackVolt"')
    (problem,) = problems_of(kit)
    assert problem.startswith(
        "jazz-ev1/eol.toml: signals.pack_voltage: message 'BMS_PackStatus' "
        "has no signal 'BMS_PackVolt' (it has: BMS_PackVoltage"
    )


def test_unknown_message_is_named(kit_copy):
    kit = kit_copy()
    edit(
        kit / "eol.toml",
        'message = "BMS_HvStatus", signal = "BMS_IsolationResistance"',
        'message = "BMS_Isolation", signal = "BMS_IsolationResistance"',
    )
    (problem,) = problems_of(kit)
    assert problem.startswith(
        "jazz-ev1/eol.toml: signals.isolation_resistance: no message 'BMS_Isolation' in the DBC"
    )


def test_indexed_mapping_past_the_dbc_names_the_element(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", "count = 100, per_message = 4", "count = 104, per_message = 4")
    problems = problems_of(kit)
    assert problems[0].startswith(
        "jazz-ev1/eol.toml: signals.cell_voltage[101]: no message 'BMS_CellV_26' in the DBC"
    )


def test_malformed_dbc_names_the_line(kit_copy):
    kit = kit_copy()
    edit(kit / "vehicle.dbc", " SG_ BMS_SOC : 32|8", " SG_ BMS_SOC 32|8")
    (problem,) = problems_of(kit)
    assert problem.startswith("jazz-ev1/vehicle.dbc: not a usable DBC file: Invalid syntax at line")


def test_overlapping_dbc_signals_are_rejected(kit_copy):
    kit = kit_copy()
    edit(kit / "vehicle.dbc", " SG_ BMS_SOC : 32|8", " SG_ BMS_SOC : 28|8")
    (problem,) = problems_of(kit)
    assert "overlapping" in problem and problem.startswith("jazz-ev1/vehicle.dbc:")


def test_malformed_toml_names_line_and_column(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", "[limits.bms]", "[limits.bms\n")
    (problem,) = problems_of(kit)
    assert problem.startswith("jazz-ev1/eol.toml: line ")
    assert "column" in problem and "TOML syntax error" in problem


def test_unknown_semantic_name_suggests_the_right_one(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", "pack_voltage = {", "pack_volatge = {")
    (problem,) = problems_of(kit)
    assert problem.startswith(
        "jazz-ev1/eol.toml: signals.pack_volatge: unknown name "
        "'pack_volatge' (did you mean 'pack_voltage'?)"
    )


def test_unknown_limit_and_reversed_range_are_reported_together(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", "cell_spread_max_v = 0.050", "cell_spred_max_v = 0.050")
    edit(kit / "eol.toml", "pack_voltage_v = [250.0, 365.0]", "pack_voltage_v = [365.0, 250.0]")
    problems = problems_of(kit)
    assert (
        "jazz-ev1/eol.toml: limits.bms.cell_spred_max_v: unknown field 'cell_spred_max_v' "
        "(did you mean 'cell_spread_max_v'?)" in problems
    )
    assert any(
        p.startswith("jazz-ev1/eol.toml: limits.bms.pack_voltage_v:")
        and "lower limit 365.0 must be below the upper limit 250.0" in p
        for p in problems
    )


def test_missing_and_misspelt_states(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", 'ready = ["READY", "DRIVE"], ', "")
    edit(kit / "eol.toml", 'closed = "CLOSED", open = "OPEN"', 'closed = "SHUT", open = "OPEN"')
    problems = problems_of(kit)
    assert any(
        p.startswith("jazz-ev1/eol.toml: signals.vehicle_state: states: missing ready")
        for p in problems
    )
    assert any(
        p.startswith(
            "jazz-ev1/eol.toml: signals.hvil: states.closed: signal 'VCU_HVIL' "
            "has no value named 'SHUT' (it has: 0=OPEN, 1=CLOSED)"
        )
        for p in problems
    )


def test_incompatible_unit_needs_an_explicit_scale(kit_copy):
    kit = kit_copy()
    edit(
        kit / "eol.toml",
        'pack_voltage = { message = "BMS_PackStatus", signal = "BMS_PackVoltage" }',
        'pack_voltage = { message = "BMS_PackStatus", signal = "BMS_PackCurrent" }',
    )
    (problem,) = problems_of(kit)
    assert problem == (
        "jazz-ev1/eol.toml: signals.pack_voltage: signal 'BMS_PackCurrent' has unit "
        "'A', which cannot be converted to V; set scale (and offset)"
    )


def test_command_must_be_sent_by_the_tester(kit_copy):
    kit = kit_copy()
    edit(
        kit / "eol.toml",
        'key_switch = { message = "EOL_VehicleCmd", signal = "EOL_KeyRequest"',
        'key_switch = { message = "VCU_Status", signal = "VCU_KeyState"',
    )
    (problem,) = problems_of(kit)
    assert problem.startswith(
        "jazz-ev1/eol.toml: commands.key_switch: message 'VCU_Status' is "
        "sent by EV_ECU, not by the tester node 'EOL_Tester'"
    )


def test_kit_name_must_match_folder(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", 'kit = "jazz-ev1"', 'kit = "jazz-ev9"')
    assert problems_of(kit) == [
        "jazz-ev1/eol.toml: kit: says 'jazz-ev9' but the folder is 'jazz-ev1'"
    ]


def test_missing_files_and_unknown_kit(kit_copy, tmp_path):
    kit = kit_copy()
    (kit / "vehicle.dbc").unlink()
    assert problems_of(kit) == ["jazz-ev1/eol.toml: dbc: file 'vehicle.dbc' not found"]
    with pytest.raises(
        EolDefinitionError, match=r"no-such-kit: no such kit folder \(kits: jazz-ev1\)"
    ):
        load_kit("no-such-kit", root=tmp_path)


def test_non_utf8_eol_file(kit_copy):
    kit = kit_copy()
    (kit / "eol.toml").write_bytes(b'kit = "jazz-ev1"\n# \xff\xfe\n')
    (problem,) = problems_of(kit)
    assert problem.startswith("jazz-ev1/eol.toml: (file): not UTF-8 text")


def test_catalogue_names_are_unique_and_described():
    assert all(s.description for s in SEMANTICS.values())
    assert {"cell_voltage", "cell_temperature"} == {n for n, s in SEMANTICS.items() if s.indexed}


def test_limits_come_from_the_chemistry_profile_and_the_kit_overrides_them(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", "cell_spread_max_v = 0.050\n", "")
    edit(kit / "eol.toml", "vacuum_min_kpa = 54.0", "vacuum_min_kpa = 60.0")
    spec = load_kit(kit).spec
    assert spec.profile == "lfp"
    assert spec.limits.bms.cell_spread_max_v == 0.050  # from kit_specs/_profiles/lfp.toml
    assert spec.limits.brakes.vacuum_min_kpa == 60.0  # the kit's own value wins
    assert spec.limits.bms.soc_ocv_table[0] == (2.50, 0.0)


def test_a_profile_beside_the_kits_takes_precedence(kit_copy):
    kit = kit_copy()
    profiles = kit.parent / "_profiles"
    profiles.mkdir()
    text = (kit_specs_root() / "_profiles" / "lfp.toml").read_text(encoding="utf-8")
    (profiles / "lfp-cold.toml").write_text(
        text.replace("temperature_c = [0.0, 45.0]", "temperature_c = [-10.0, 40.0]"),
        encoding="utf-8",
    )
    edit(kit / "eol.toml", 'profile = "lfp"', 'profile = "lfp-cold"')
    edit(kit / "eol.toml", "temperature_c = [0.0, 45.0]\n", "")
    assert load_kit(kit).spec.limits.bms.temperature_c == (-10.0, 40.0)


def test_an_unknown_profile_or_an_incomplete_one_is_named(kit_copy):
    kit = kit_copy()
    edit(kit / "eol.toml", 'profile = "lfp"', 'profile = "nmc"')
    (problem,) = problems_of(kit)
    assert problem == "jazz-ev1/eol.toml: profile: no limit profile 'nmc' (profiles: lfp)"
    profiles = kit.parent / "_profiles"
    profiles.mkdir()
    (profiles / "nmc.toml").write_text("[limits.bms]\nobserve_s = 1.0\n", encoding="utf-8")
    problems = problems_of(kit)
    assert (
        "jazz-ev1/eol.toml: limits.ecu.heartbeat_max_gap_factor: required field is missing"
        in problems
    )
    (profiles / "nmc.toml").write_text("[signals]\n", encoding="utf-8")
    (problem,) = problems_of(kit)
    assert (
        problem
        == "_profiles/nmc.toml: signals: a profile holds only [run], [limits] and [sources] tables"
    )


def test_state_values_that_do_not_fit_their_signal_are_refused(kit_copy):
    """Vendor value names outside a signal's bits (CarOn = 8 in a 1-bit field) would crash the
    simulator and make the run blame the bus; the definition is refused instead."""
    kit = kit_copy()
    edit(
        kit / "vehicle.dbc",
        'VAL_ 258 VCU_HVIL 0 "OPEN" 1 "CLOSED" ;',
        'VAL_ 258 VCU_HVIL 0 "OPEN" 8 "CLOSED" ;',
    )
    (problem,) = problems_of(kit)
    assert problem.startswith("jazz-ev1/eol.toml: signals.hvil")
    assert "state value 8 ('CLOSED') does not fit signal 'VCU_HVIL' (1 bits: 0..1)" in problem
    kit = kit_copy(new_id="jazz-num")
    edit(
        kit / "eol.toml",
        'states = { closed = "CLOSED", open = "OPEN" }',
        "states = { closed = 1, open = 2 }",
    )
    (problem,) = problems_of(kit)
    assert "state value 2 does not fit signal 'VCU_HVIL' (1 bits: 0..1)" in problem

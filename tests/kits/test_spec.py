"""Kit specs: the real kits load and cost what the sheet says; broken kits fail with exact messages."""

import re
from decimal import Decimal as D

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from workshop.kits import (
    CATEGORIES,
    TARGET_EXCLUDING_BATTERY,
    KitError,
    KitSpec,
    check_kits,
    load_kit,
    load_kits,
)
from workshop.kits.commands import kits as kits_cli
from workshop.kits.loader import KITS_DIR

REAL_KITS = {
    "jazz-ev1": "honda-jazz-ge",
    "vios-ev1": "toyota-vios-ncp93",
    "dmax-ev2": "isuzu-dmax-mt",
    # the same car and parts, the BMS running a BMS maker's firmware (a vendor CAN database)
    "dmax-ev2-vendor": "isuzu-dmax-mt",
}

# --- a small kit written into tmp_path --------------------------------------------------------------

KIT_TOML = """\
id = "test-kit"
version = "1.0"
name_th = "ชุดทดสอบ"
name_en = "Test kit"
manuals = ["honda-jazz-ge"]
dbc = "vehicle.dbc"
eol = "eol.toml"

[ratings.motor]
type = "IPMSM"
manufacturer = "In-house"
model = "IPMSM-45"
rated_power_kw = 45
max_30min_power_kw = 50
peak_power_kw = 80
voltage_v = 380
rated_speed_rpm = 3000
max_speed_rpm = 8000
peak_torque_nm = 250

[ratings.battery]
chemistry = "LiFePO4"
cell_manufacturer = "Narada"
cell_model = "60 Ah"
cells_series = 100
cells_parallel = 1
cell_capacity_ah = 60
cell_nominal_voltage_v = 3.3
cell_max_voltage_v = 3.65
nominal_voltage_v = 330
max_voltage_v = 365
energy_kwh = 19.8
usable_energy_kwh = 15.8

[ratings.charger]
power_kw = 3.0
ac_voltage_min_v = 100
ac_voltage_max_v = 240
ac_frequency_min_hz = 47
ac_frequency_max_hz = 63
ac_current_settings_a = [12, 16]

[[ratings.charger.dc_ranges]]
min_v = 112
max_v = 225
max_current_a = 27

[[ratings.charger.dc_ranges]]
min_v = 225
max_v = 450
max_current_a = 13.5

[ratings.dcdc]
manufacturer = "In-house"
input_min_v = 200
input_max_v = 420
output_v = 13.8
power_kw = 1.2

[[bom]]
part_number = "TK1-BAT-0001"
name_th = "เซลล์แบตเตอรี่"
name_en = "Cell"
category = "battery"
quantity = 100
unit_cost = 1000.00
supplier = "Importer"
serialised = true
counts_as_battery = true

[[bom]]
part_number = "TK1-MOT-0001"
name_th = "มอเตอร์"
name_en = "Motor"
category = "motor"
quantity = 1
unit_cost = 30000.50
supplier = "Motor works"
serialised = true

[[bom]]
part_number = "TK1-CON-0001"
name_th = "น้ำยาหล่อเย็น"
name_en = "Coolant"
category = "consumable"
quantity = 3
unit_cost = 349.99
supplier = "Shop"
"""

DBC = """\
VERSION ""

BU_: VCU BMS EOL_Tester

BO_ 256 VCU_Status: 8 VCU
 SG_ VCU_State : 0|8@1+ (1,0) [0|255] "" BMS

BO_ 512 BMS_Pack: 8 BMS
 SG_ BMS_PackVoltage : 0|16@1+ (0.1,0) [0|6553.5] "V" VCU
"""

# `kits check` also validates the EOL file against the DBC and kit.toml: limits wide enough for
# the test kit's small battery.
EOL = (
    'format = 1\nkit = "test-kit"\n\n[limits.bms]\n'
    "pack_voltage_v = [1.0, 1000.0]\ncell_voltage_v = [1.0, 5.0]\n"
    # a kit that changes a safety limit says where its own value comes from
    '\n[sources]\n"bms.pack_voltage_v" = "test pack datasheet"\n'
    '"bms.cell_voltage_v" = "test cell datasheet"\n'
)


@pytest.fixture
def kits_root(tmp_path):
    """The folder that holds the test kits."""
    root = tmp_path / "kits"
    root.mkdir()
    return root


@pytest.fixture
def files_only(monkeypatch):
    """Judge the synthetic test kit on its own files: it claims the Jazz manual but carries three
    BOM lines, so the manual half of `kits check` (tests/kits/test_kit_fits_manual.py) is off."""
    from workshop.kits import loader
    from workshop.kits.fitcheck import manual_supply_problems

    kept = [check for check in loader.FOLDER_CHECKS if check is not manual_supply_problems]
    monkeypatch.setattr(loader, "FOLDER_CHECKS", kept)


@pytest.fixture
def make_kit(kits_root):
    """Factory: write a kit folder (the valid test kit unless told otherwise) and return it."""

    def make(name="test-kit", toml=KIT_TOML, dbc=DBC, eol=EOL):
        folder = kits_root / name
        folder.mkdir()
        for file_name, text in (("kit.toml", toml), ("vehicle.dbc", dbc), ("eol.toml", eol)):
            if text is not None:
                (folder / file_name).write_text(text, encoding="utf-8")
        return folder

    return make


def edit(old, new, text=KIT_TOML, count=1):
    """The test kit's TOML with ``old`` replaced by ``new`` (which must be there)."""
    assert old in text, old
    return text.replace(old, new, count)


# --- the real kits -----------------------------------------------------------------------------------


def test_every_real_kit_loads_with_its_dbc_and_eol_file():
    kits = load_kits()
    assert set(kits) == set(REAL_KITS)
    for kit_id, manual_id in REAL_KITS.items():
        kit = kits[kit_id]
        assert kit.directory == KITS_DIR / kit_id
        assert kit.fits(manual_id)
        assert kit.dbc_path == KITS_DIR / kit_id / kit.dbc and kit.dbc_path.is_file()
        assert kit.eol_path.is_file()
        assert kit.dbc_message_count > 0
        # Every kit carries 100 serialised cells, the BMS boards and the shared 3 kW charger.
        cells = [line for line in kit.bom if line.counts_as_battery]
        assert [(line.quantity, line.serialised) for line in cells] == [(100, True)]
        assert kit.part("EVC-BMS-0003").quantity == 100
        assert kit.part("EVC-CHG-0001").serialised
        assert kit.ratings.charger.power_kw == 3.0
        assert kit.ratings.battery.cells_series == 100


def test_vios_cost_sheet_hand_checked():
    kit = load_kit(KITS_DIR / "vios-ev1")
    by_hand = {
        "battery": 100 * D("1650.00"),
        "motor": D("29500.00"),
        "inverter": D("19800.00"),
        "bms": D("3200.00") + 10 * D("780.00") + 100 * D("95.00") + D("1650.00"),
        "ev_ecu": D("8500.00") + D("1450.00") + D("450.00") + D("3600.00"),
        "charger": D("11900.00") + D("2950.00"),
        "dcdc": D("4600.00"),
        "brake_vacuum_pump": D("3950.00") + D("480.00") + D("650.00"),
        "cooling": D("2350.00") + D("3200.00") + D("950.00"),
        "ac": D("3900.00") + D("8900.00"),
        "harness": D("7800.00") + D("2800.00") + D("1250.00") + D("2400.00") + 2 * D("1650.00")
        + D("780.00") + D("260.00"),
        "mechanical": D("4900.00") + D("2900.00") + D("1900.00") + D("5400.00") + D("3200.00"),
        "consumable": 2 * D("350.00") + D("950.00"),
    }  # fmt: skip
    assert kit.cost_by_category() == by_hand
    assert list(kit.cost_by_category()) == list(CATEGORIES)
    assert kit.cost_total == D("332820.00")
    assert kit.cost_excluding_battery == D("167820.00")
    assert kit.cost_excluding_battery < TARGET_EXCLUDING_BATTERY
    assert kit.within_target
    assert len(kit.bom) == 36
    # 2 decimal places all the way through, so the cost sheet prints what was added up.
    assert str(kit.cost_excluding_battery) == "167820.00"


def test_jazz_with_imported_uqm_drive_is_honestly_over_target():
    kit = load_kit(KITS_DIR / "jazz-ev1")
    drive = D("168000.00") + D("149000.00")
    assert kit.part("JZ1-MOT-0001").line_cost + kit.part("JZ1-INV-0001").line_cost == drive
    assert kit.cost_excluding_battery == D("472720.00")
    assert kit.cost_total - kit.cost_excluding_battery == 100 * D("2450.00")
    assert not kit.within_target


def test_at_least_one_real_kit_is_under_target():
    under = sorted(k.id for k in load_kits().values() if k.cost_excluding_battery < D("200000"))
    assert "vios-ev1" in under


def test_real_kit_ratings_match_the_programme():
    kits = load_kits()
    vios = kits["vios-ev1"].ratings
    assert (vios.motor.rated_power_kw, vios.motor.voltage_v, vios.motor.rated_speed_rpm) == (
        45,
        380,
        3000,
    )
    jazz = kits["jazz-ev1"].ratings
    assert (jazz.battery.chemistry, jazz.battery.cell_capacity_ah, jazz.battery.energy_kwh) == (
        "LiFePO4",
        60,
        19.8,
    )
    charger = kits["dmax-ev2"].ratings.charger
    assert [(r.min_v, r.max_v, r.max_current_a) for r in charger.dc_ranges] == [
        (112, 225, 27),
        (225, 450, 13.5),
    ]


def test_snapshot_round_trip_keeps_money_exact():
    kit = load_kit(KITS_DIR / "vios-ev1")
    snapshot = kit.model_dump(mode="json")
    assert snapshot["bom"][0]["unit_cost"] == "1650.00"
    restored = KitSpec.model_validate(snapshot)
    assert restored == kit
    assert restored.cost_excluding_battery == D("167820.00")
    assert restored.fingerprint == kit.fingerprint


# --- the API on a small kit --------------------------------------------------------------------------


def test_small_kit_costs_and_accessors(make_kit):
    kit = load_kit(make_kit())
    assert kit.cost_total == D("100000.00") + D("30000.50") + 3 * D("349.99")
    assert kit.cost_excluding_battery == D("31050.47")
    assert kit.cost_by_category() == {
        "battery": D("100000.00"),
        "motor": D("30000.50"),
        "consumable": D("1049.97"),
    }
    assert [line.part_number for line in kit.serialised_parts] == ["TK1-BAT-0001", "TK1-MOT-0001"]
    assert kit.part("TK1-CON-0001").unit_cost == D("349.99")
    with pytest.raises(KeyError):
        kit.part("TK1-XXX-0001")
    assert kit.fits("honda-jazz-ge") and not kit.fits("toyota-vios-ncp93")
    assert (kit.name("th"), kit.name("en_GB"), kit.name(None)) == ("ชุดทดสอบ", "Test kit", "ชุดทดสอบ")
    assert kit.part("TK1-MOT-0001").name("en") == "Motor"
    assert kit.dbc_message_count == 2
    assert kit.dbc_path.read_text() == DBC


def test_money_as_integer_or_string_is_exact(make_kit):
    toml = edit("unit_cost = 30000.50", 'unit_cost = "30000.5"')
    toml = edit("unit_cost = 349.99", "unit_cost = 350", toml)
    kit = load_kit(make_kit(toml=toml))
    assert kit.part("TK1-MOT-0001").unit_cost == D("30000.50")
    assert str(kit.part("TK1-CON-0001").unit_cost) == "350.00"


def test_frozen_and_float_money_refused_from_python(make_kit):
    kit = load_kit(make_kit())
    with pytest.raises(ValidationError):
        kit.part("TK1-MOT-0001").unit_cost = D("1.00")
    data = kit.model_dump()
    data["bom"] = [{**line, "unit_cost": 0.1} for line in data["bom"]]
    with pytest.raises(ValidationError, match="expected an amount in THB, got float 0.1"):
        KitSpec.model_validate(data)


def test_fingerprint_changes_with_the_dbc(make_kit):
    folder = make_kit()
    before = load_kit(folder).fingerprint
    (folder / "vehicle.dbc").write_text(DBC.replace("VCU_State", "VCU_Mode"))
    assert load_kit(folder).fingerprint != before


def test_fingerprint_changes_with_the_overlays_and_the_limit_profile_the_eol_file_names(
    make_kit,
):
    """A job pins the kit's fingerprint: an overlay DBC or limit profile edited under the same
    version number is a different kit for the tests that read it."""
    top = 'kit = "test-kit"\n'
    folder = make_kit(eol=edit(top, top + 'overlays = ["eol-overlay.dbc"]\nprofile = "lfp"\n', EOL))
    (folder / "eol-overlay.dbc").write_text(DBC, encoding="utf-8")
    before = load_kit(folder).fingerprint
    (folder / "eol-overlay.dbc").write_text(DBC.replace("VCU_State", "VCU_Mode"), encoding="utf-8")
    with_new_overlay = load_kit(folder).fingerprint
    assert with_new_overlay != before
    # A profile shipped beside the kit's folder takes the repository's place.
    shipped = folder.parent / "_profiles" / "lfp.toml"
    shipped.parent.mkdir()
    shipped.write_text("[limits]\n", encoding="utf-8")
    assert load_kit(folder).fingerprint != with_new_overlay


# --- broken kits: exact file, location and problem, nothing loaded ----------------------------------

MOTOR = " (in part 'TK1-MOT-0001')"

BROKEN_TOML = {
    "missing field": (edit('version = "1.0"\n', ""), "version", "required field is missing"),
    "unknown field": (
        edit('supplier = "Motor works"', 'suplier = "Motor works"'),
        "bom[1].suplier",
        "unknown field 'suplier' (did you mean 'supplier'?)" + MOTOR,
    ),
    "missing bom field": (
        edit('supplier = "Motor works"\n', ""),
        "bom[1].supplier",
        "required field is missing" + MOTOR,
    ),
    "cost with 3 decimals": (
        edit("unit_cost = 30000.50", "unit_cost = 30000.505"),
        "bom[1].unit_cost",
        "at most 2 decimal places (satang), got 30000.505" + MOTOR,
    ),
    "cost string with 3 decimals": (
        edit("unit_cost = 30000.50", 'unit_cost = "30000.505"'),
        "bom[1].unit_cost",
        "at most 2 decimal places (satang), got 30000.505" + MOTOR,
    ),
    "cost not a number": (
        edit("unit_cost = 30000.50", 'unit_cost = "30k"'),
        "bom[1].unit_cost",
        "expected an amount in THB like '1850.50', got '30k'" + MOTOR,
    ),
    "negative cost": (
        edit("unit_cost = 30000.50", "unit_cost = -5.00"),
        "bom[1].unit_cost",
        "must be at least 0, got -5.00" + MOTOR,
    ),
    "zero quantity": (
        edit("quantity = 1\n", "quantity = 0\n"),
        "bom[1].quantity",
        "must be greater than 0, got 0" + MOTOR,
    ),
    "fractional quantity": (
        edit("quantity = 3\n", "quantity = 2.5\n"),
        "bom[2].quantity",
        "expected an integer, got float 2.5 (in part 'TK1-CON-0001')",
    ),
    "duplicate part number": (
        edit('part_number = "TK1-CON-0001"', 'part_number = "TK1-MOT-0001"'),
        "bom[2].part_number",
        "duplicate part number 'TK1-MOT-0001' (also bom[1])",
    ),
    "bad part number": (
        edit('part_number = "TK1-CON-0001"', 'part_number = "coolant"'),
        "bom[2].part_number",
        "'coolant' is not valid here: use FAMILY-CAT-NNNN, e.g. 'VS1-MOT-0001' or 'EVC-CHG-0001'",
    ),
    "unknown category": (
        edit('category = "motor"', 'category = "engine"'),
        "bom[1].category",
        "unknown category 'engine'; expected one of 'battery', 'motor', 'inverter', 'bms', 'ev_ecu',"
        " 'charger', 'dcdc', 'brake_vacuum_pump', 'cooling', 'ac', 'harness', 'mechanical' or"
        " 'consumable'" + MOTOR,
    ),
    "battery flag on a motor": (
        edit('supplier = "Motor works"', 'supplier = "Motor works"\ncounts_as_battery = true'),
        "bom[1].counts_as_battery",
        "only a 'battery' line can count as battery; this line is 'motor'" + MOTOR,
    ),
    "flag as string": (
        edit(
            'serialised = true\n\n[[bom]]\npart_number = "TK1-CON',
            'serialised = "yes"\n\n[[bom]]\npart_number = "TK1-CON',
        ),
        "bom[1].serialised",
        "expected true or false, got string 'yes'" + MOTOR,
    ),  # fmt: skip
    "English in the Thai name": (
        edit('name_th = "มอเตอร์"', 'name_th = "Motor"'),
        "bom[1].name_th",
        "Thai text expected, but it contains no Thai characters" + MOTOR,
    ),
    "empty bom": (
        edit("[ratings.motor]", "bom = []\n\n[ratings.motor]", KIT_TOML.split("[[bom]]")[0]),
        "bom",
        "needs at least 1 entries, got 0",
    ),
    "energy off": (
        edit("energy_kwh = 19.8", "energy_kwh = 198"),
        "ratings.battery.energy_kwh",
        "330 V × 60 Ah = 19.80 kWh, but energy_kwh is 198 kWh (more than 3 % apart)",
    ),
    "usable energy above the pack's": (
        edit("usable_energy_kwh = 15.8", "usable_energy_kwh = 21.0"),
        "ratings.battery.energy_kwh",
        "19.8 kWh is below the usable energy 21 kWh",
    ),
    "nominal voltage off": (
        edit("nominal_voltage_v = 330", "nominal_voltage_v = 320"),
        "ratings.battery.nominal_voltage_v",
        "100 cells × 3.3 V = 330 V, but nominal_voltage_v is 320 V (more than 2 % apart)",
    ),
    "30-minute power below rated": (
        edit("max_30min_power_kw = 50", "max_30min_power_kw = 40"),
        "ratings.motor.max_30min_power_kw",
        "40 kW is below the rated power 45 kW",
    ),
    "peak below 30-minute power": (
        edit("peak_power_kw = 80", "peak_power_kw = 48"),
        "ratings.motor.peak_power_kw",
        "48 kW is below the maximum 30-minute power 50 kW",
    ),
    "charger cannot reach the pack": (
        edit("max_v = 450", "max_v = 350"),
        "ratings.charger.dc_ranges",
        "no output range covers the pack's maximum voltage 365 V",
    ),
    "rating as string": (
        edit("voltage_v = 380", 'voltage_v = "380"'),
        "ratings.motor.voltage_v",
        "expected a number, got string '380'",
    ),
    "dbc not a .dbc": (
        edit('dbc = "vehicle.dbc"', 'dbc = "vehicle.txt"'),
        "dbc",
        "'vehicle.txt' must be a .dbc file (the kit's CAN database)",
    ),
    "dbc outside the folder": (
        edit('dbc = "vehicle.dbc"', 'dbc = "../other/vehicle.dbc"'),
        "dbc",
        "'../other/vehicle.dbc' is not valid here: use a plain file name inside the kit folder,"
        " e.g. 'vehicle.dbc'",
    ),
    "computed key in the file": (
        edit('eol = "eol.toml"', 'eol = "eol.toml"\ndbc_message_count = 2'),
        "dbc_message_count",
        "is computed by the loader from the kit folder; remove it",
    ),
    "bad TOML": (
        edit('name_en = "Test kit"', 'name_en = "Test kit'),
        "line 4, column 20",
        "TOML syntax error: Illegal character '\\n'",
    ),
    "empty file": (
        "",
        "(file)",
        "the file is empty: a kit needs id, version, [ratings] and [[bom]]",
    ),
    "id is not the folder name": (
        edit('id = "test-kit"', 'id = "other-kit"'),
        "id",
        "'other-kit' must equal the kit's folder name 'test-kit'",
    ),
}


@pytest.mark.parametrize("toml, location, problem", BROKEN_TOML.values(), ids=BROKEN_TOML.keys())
def test_broken_kit_toml(make_kit, kits_root, toml, location, problem):
    folder = make_kit(toml=toml)
    with pytest.raises(KitError) as caught:
        load_kit(folder)
    error = caught.value
    assert (error.file, error.location, error.problem) == (folder / "kit.toml", location, problem)
    assert str(error) == f"{folder / 'kit.toml'}: {location}: {problem}"
    # A good kit next to the broken one does not make load_kits return a partial set.
    make_kit(name="good-kit", toml=edit('id = "test-kit"', 'id = "good-kit"'))
    with pytest.raises(KitError):
        load_kits(kits_root)


def test_every_problem_is_listed_in_details(make_kit):
    toml = edit("peak_power_kw = 80", "peak_power_kw = -1")
    toml = edit('category = "motor"', 'category = "engine"', toml)
    with pytest.raises(KitError) as caught:
        load_kit(make_kit(toml=toml))
    assert caught.value.details == (
        ("ratings.motor.peak_power_kw", "must be greater than 0, got -1"),
        (
            "bom[1].category",
            "unknown category 'engine'; expected one of 'battery', 'motor', 'inverter', 'bms',"
            " 'ev_ecu', 'charger', 'dcdc', 'brake_vacuum_pump', 'cooling', 'ac', 'harness',"
            " 'mechanical' or 'consumable'" + MOTOR,
        ),
    )


def test_missing_dbc(make_kit):
    folder = make_kit(dbc=None)
    with pytest.raises(KitError) as caught:
        load_kit(folder)
    assert str(caught.value) == (
        f"{folder / 'kit.toml'}: dbc: file 'vehicle.dbc' not found in {folder}"
    )


def test_missing_eol(make_kit):
    folder = make_kit(eol=None)
    with pytest.raises(KitError) as caught:
        load_kit(folder)
    assert (caught.value.file, caught.value.location, caught.value.problem) == (
        folder / "kit.toml",
        "eol",
        f"file 'eol.toml' not found in {folder}",
    )


@pytest.mark.parametrize(
    "dbc, location, problem",
    [
        (
            'VERSION ""\nBO_ 256 Foo 8 VCU\n',
            "line 2, column 13",
            'cantools cannot load it: Invalid syntax at line 2, column 13: "BO_ 256 Foo >>!<<8 VCU"',
        ),
        (
            'VERSION ""\n\nBO_ 256 Foo: 1 VCU\n SG_ A : 0|8@1+ (1,0) [0|255] "" BMS\n'
            ' SG_ B : 4|8@1+ (1,0) [0|255] "" BMS\n',
            "(file)",
            "cantools cannot load it: The signal B does not fit in message Foo.",
        ),
        (
            'VERSION ""\n',
            "(file)",
            "defines no messages; the EOL tests need the kit's messages",
        ),
    ],
    ids=["syntax", "signal overflow", "no messages"],
)
def test_malformed_dbc_names_the_dbc_file(make_kit, dbc, location, problem):
    folder = make_kit(dbc=dbc)
    with pytest.raises(KitError) as caught:
        load_kit(folder)
    error = caught.value
    assert (error.file, error.location, error.problem) == (
        folder / "vehicle.dbc",
        location,
        problem,
    )


def test_folder_without_kit_toml(make_kit):
    folder = make_kit(toml=None)
    with pytest.raises(KitError) as caught:
        load_kit(folder)
    assert (caught.value.location, caught.value.problem) == (
        "(file)",
        f"file 'kit.toml' not found in {folder}",
    )


# --- check_kits and the CLI --------------------------------------------------------------------------


def test_check_kits_judges_each_kit_on_its_own(make_kit, kits_root, files_only):
    make_kit()
    make_kit(name="bad-kit", toml=edit('id = "test-kit"', 'id = "bad-kit"').replace("3.3", "3.0"))
    results = check_kits([kits_root])
    assert [folder.name for folder, _ in results] == ["bad-kit", "test-kit"]
    assert isinstance(results[0][1], KitError)
    assert results[0][1].location == "ratings.battery.nominal_voltage_v"
    assert isinstance(results[1][1], KitSpec)


def test_cli_check_prints_one_line_per_kit(make_kit, kits_root, files_only):
    make_kit()
    result = CliRunner().invoke(kits_cli, ["check", str(kits_root)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "test-kit  v1.0  3 BOM lines  cost excl. battery 31,050.47 THB  2 DBC messages\n"
    )


def test_cli_check_reports_errors_and_exits_1(make_kit, files_only):
    good = make_kit()
    bad = make_kit(name="bad-kit", toml=edit('id = "test-kit"', 'id = "wrong"'))
    result = CliRunner().invoke(kits_cli, ["check", str(good), str(bad / "kit.toml")])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "test-kit  v1.0  3 BOM lines  cost excl. battery 31,050.47 THB  2 DBC messages",
        f"ERROR {bad / 'kit.toml'}: id: 'wrong' must equal the kit's folder name 'bad-kit'",
    ]


def test_cli_check_real_kits_by_default():
    result = CliRunner().invoke(kits_cli, ["check"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == [
        "dmax-ev2",
        "dmax-ev2-vendor",
        "jazz-ev1",
        "vios-ev1",
    ]
    assert re.fullmatch(
        r"vios-ev1  v1\.0  36 BOM lines  cost excl\. battery 167,820\.00 THB  \d+ DBC messages",
        lines[3],
    )


def test_cli_check_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(kits_cli, ["check", str(missing)])
    assert result.exit_code == 1
    assert result.output == f"ERROR {missing}: (file): kit folder not found\n"


def test_kit_spec_loading_has_no_flask_imports():
    # The loader is plain Python so the CLI, the bench agent and tests use it without an app;
    # the web layer of the feature (views, forms) naturally imports Flask.
    plain = ("__init__.py", "spec.py", "loader.py", "commands.py")
    source = "".join((KITS_DIR.parent / "workshop/kits" / name).read_text() for name in plain)
    assert not re.search(r"^\s*(from|import) flask", source, re.MULTILINE)

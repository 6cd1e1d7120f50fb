"""Manual loader: the real manuals load and keep the contract jobs rely on; broken files fail with
the exact file, location and problem, and never half-load."""

import json
from pathlib import Path

import pytest

from workshop.manuals.loader import MANUALS_DIR, ManualError, check_manuals, load_manual
from workshop.manuals.schema import HV_QUALIFICATIONS, Manual

OWN_MANUAL = "isuzu-dmax-mt"
# Manuals are being written in parallel: test whichever files exist when the suite is collected.
MANUAL_FILES = sorted(MANUALS_DIR.glob("*.toml"))

# key -> (quantity, unit): the inputs the job screens and reports read by name.
INTAKE_KEYS = {
    "odometer_km": ("distance", "km"),
    "curb_weight_kg": ("mass", "kg"),
    "front_axle_kg": ("mass", "kg"),
    "rear_axle_kg": ("mass", "kg"),
}
AFTER_WEIGHT_KEYS = {
    "curb_weight_after_kg": ("mass", "kg"),
    "front_axle_after_kg": ("mass", "kg"),
    "rear_axle_after_kg": ("mass", "kg"),
}

# Qualification codes passed to the loader, so the malformed-file tests do not depend on the
# contents of checklists/qualifications.toml.
CODES = {"conversion_isuzu_dmax", "hv_qualified", "hv_live"}

# --- a small valid manual, broken one way per test -------------------------------------------------

VALID = """\
id = "mini"
version = "1.0"
qualification = "conversion_isuzu_dmax"

[model]
make = "Isuzu"
model = "D-Max"
generation = "RT50"
year_from = 2012
year_to = 2019
body_class = "pickup"
transmission = "MT"

[[sections]]
id = "intake"
title_th = "รับรถ"
title_en = "Intake"

[[sections.steps]]
id = "intake-01"
title_th = "บันทึกเลขไมล์"
title_en = "Record the odometer"
instructions_th = "อ่านเลขไมล์จากหน้าปัด"
instructions_en = "Read the odometer."
estimated_minutes = 10

[[sections.steps.inputs]]
type = "measurement"
key = "odometer_km"
label_th = "เลขไมล์"
label_en = "Odometer"
quantity = "distance"
unit = "km"
min = 0.0
max = 999999.0

[[sections.steps]]
id = "intake-02"
title_th = "ขันยึดขายึด"
title_en = "Torque the bracket"
instructions_th = "ขันโบลต์ตามค่าแรงบิด"
instructions_en = "Torque the bolts."
estimated_minutes = 30
depends_on = ["intake-01"]

[[sections.steps.inputs]]
type = "torque"
key = "bracket_bolts"
label_th = "แรงบิดโบลต์"
label_en = "Bracket bolts"
spec_nm = 90.0
tolerance_nm = 5.0

[[sections]]
id = "hv"
title_th = "ไฟฟ้าแรงดันสูง"
title_en = "High voltage"

[[sections.steps]]
id = "hv-01"
title_th = "วัดความต้านทานฉนวน"
title_en = "Measure isolation"
instructions_th = "วัดระหว่างขั้วกับตัวถัง"
instructions_en = "Measure between the poles and the chassis."
hazards = ["high_voltage"]
qualification = "hv_live"
countersign = true
estimated_minutes = 20
depends_on = ["intake-02"]

[[sections.steps.inputs]]
type = "measurement"
key = "isolation_ohm_per_v"
label_th = "ความต้านทานฉนวน"
label_en = "Isolation"
quantity = "isolation_resistance"
unit = "ohm_per_V"
min = 100.0
"""


def write(tmp_path: Path, text: str, stem: str = "mini") -> Path:
    path = tmp_path / f"{stem}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def broken(old: str, new: str) -> str:
    """VALID with ``old`` (which must occur exactly once) replaced by ``new``."""
    assert VALID.count(old) == 1, f"{old!r} occurs {VALID.count(old)} times in VALID"
    return VALID.replace(old, new)


def assert_fails(path: Path, location: str, phrase: str) -> ManualError:
    """Loading ``path`` raises a ManualError naming ``path`` and ``location``, with ``phrase``."""
    result = None
    with pytest.raises(ManualError) as info:
        result = load_manual(path, qualification_codes=CODES)
    assert result is None
    err = info.value
    assert err.file == path
    assert err.location == location
    assert phrase in err.problem, err.problem
    assert str(err) == f"{path}: {location}: {err.problem}"
    return err


def test_the_small_manual_is_valid(tmp_path):
    manual = load_manual(write(tmp_path, VALID), qualification_codes=CODES)
    assert manual.id == "mini"
    assert [s.id for s in manual.steps] == ["intake-01", "intake-02", "hv-01"]
    assert len(manual.fingerprint) == 64


def test_the_small_manual_is_valid_against_the_real_qualifications_file(tmp_path):
    assert load_manual(write(tmp_path, VALID)).qualification == "conversion_isuzu_dmax"


# --- the real manuals ----------------------------------------------------------------------------


def check_contract(manual: Manual) -> None:
    """What jobs, reports and the EOL sign-off rely on in every real manual."""
    for key, (quantity, unit) in {**INTAKE_KEYS, **AFTER_WEIGHT_KEYS}.items():
        _, found = manual.find_input(key)
        assert found.type == "measurement", key
        assert (found.quantity, found.unit) == (quantity, unit), key
    _, isolation = manual.find_input("isolation_ohm_per_v")
    assert isolation.type == "measurement"
    assert isolation.quantity == "isolation_resistance"
    assert isolation.unit == "ohm_per_V"
    assert isolation.min == 100.0
    # the motor evidence the DLT asks for: the stamped number, where, photos and the invoice
    _, stamped = manual.find_input("motor_number_stamped")
    assert (stamped.type, stamped.format) == ("text", "identifier")
    assert manual.find_input("motor_number_location")[1].type == "choice"
    for key in ("motor_number_photo", "motor_nameplate_photo", "motor_invoice_photo"):
        assert manual.find_input(key)[1].type == "photo", key
    # what the DLT registers and the weight limits (the certificate prints them)
    registration = manual.registration
    assert registration is not None, "a conversion manual without [registration]"
    assert registration.source and registration.structural_change("en")
    # every tightening torque is applied with a calibrated torque wrench the record names
    torques = [inp for step in manual.steps for inp in step.inputs if inp.type == "torque"]
    assert torques and all(inp.calibrated == "torque_wrench" for inp in torques), [
        inp.key for inp in torques if inp.calibrated != "torque_wrench"
    ]
    # touch protection confirmed against its IP code and printed in the certificate's annex
    protection = [
        inp
        for step in manual.steps
        for inp in step.inputs
        if inp.type == "confirmation" and inp.annex and "IPXX" in inp.statement_en
    ]
    assert protection and all("UN R100" in inp.source for inp in protection)
    hv_steps = [step for step in manual.steps if "high_voltage" in step.hazards]
    assert hv_steps, "a conversion manual without high-voltage steps"
    for step in hv_steps:
        assert step.countersign is True, step.id
        assert step.qualification in HV_QUALIFICATIONS, step.id


def test_own_manual_exists_and_loads():
    assert OWN_MANUAL in [path.stem for path in MANUAL_FILES]
    manual = load_manual(MANUALS_DIR / f"{OWN_MANUAL}.toml")
    assert manual.id == OWN_MANUAL
    assert manual.qualification == "conversion_isuzu_dmax"
    assert (manual.model.body_class, manual.model.transmission) == ("pickup", "MT")
    check_contract(manual)


@pytest.mark.parametrize("path", MANUAL_FILES, ids=[path.stem for path in MANUAL_FILES])
def test_real_manual_loads_and_keeps_the_contract(path):
    manual = load_manual(path)
    assert manual.id == path.stem
    check_contract(manual)


@pytest.mark.parametrize("path", MANUAL_FILES, ids=[path.stem for path in MANUAL_FILES])
def test_real_manual_limits_for_vacuum_and_bonding(path):
    manual = load_manual(path)
    _, vacuum = manual.find_input("vacuum_kpa")
    assert (vacuum.quantity, vacuum.unit, vacuum.min) == ("pressure", "kPa", 54.0)
    _, bonding = manual.find_input("bonding_ohm")
    assert (bonding.quantity, bonding.unit, bonding.max) == ("resistance", "ohm", 0.1)


@pytest.mark.parametrize("path", MANUAL_FILES, ids=[path.stem for path in MANUAL_FILES])
def test_real_manual_survives_the_job_snapshot(path):
    manual = load_manual(path)
    # Fill the cached step indexes first: they must stay out of the dump and of equality.
    assert manual.step(manual.steps[-1].id) is manual.steps[-1]
    snapshot = manual.model_dump(mode="json")
    assert Manual.model_validate(snapshot) == manual
    # Jobs store the snapshot as JSON text: tuples come back as lists.
    rebuilt = Manual.model_validate(json.loads(json.dumps(snapshot, ensure_ascii=False)))
    assert rebuilt == manual
    assert rebuilt.fingerprint == manual.fingerprint


def test_the_contract_check_can_fail(tmp_path):
    # The small manual has an odometer but no weights: the contract check must notice.
    manual = load_manual(write(tmp_path, VALID), qualification_codes=CODES)
    with pytest.raises(KeyError, match="curb_weight_kg"):
        check_contract(manual)


# --- malformed files ----------------------------------------------------------------------------


def test_missing_field(tmp_path):
    path = write(tmp_path, broken("estimated_minutes = 30\n", ""))
    assert_fails(
        path,
        "sections[0].steps[1].estimated_minutes",
        "required field is missing (in step 'intake-02')",
    )


def test_string_where_an_integer_belongs(tmp_path):
    path = write(tmp_path, broken("estimated_minutes = 30", 'estimated_minutes = "30"'))
    assert_fails(
        path, "sections[0].steps[1].estimated_minutes", "expected an integer, got string '30'"
    )


def test_unknown_field_suggests_the_right_name(tmp_path):
    path = write(tmp_path, broken("countersign = true", "countersing = true"))
    assert_fails(
        path,
        "sections[1].steps[0].countersing",
        "unknown field 'countersing' (did you mean 'countersign'?)",
    )


def test_unknown_unit(tmp_path):
    path = write(tmp_path, broken('unit = "km"', 'unit = "miles"'))
    assert_fails(path, "sections[0].steps[0].inputs[0].unit", "unknown unit 'miles'")


def test_unit_not_fitting_the_quantity(tmp_path):
    path = write(tmp_path, broken('unit = "km"', 'unit = "kg"'))
    assert_fails(
        path,
        "sections[0].steps[0].inputs[0].unit",
        "unit 'kg' does not fit quantity 'distance' (use km)",
    )


def test_min_greater_than_max(tmp_path):
    path = write(tmp_path, broken("min = 0.0\nmax = 999999.0", "min = 10.0\nmax = 5.0"))
    assert_fails(path, "sections[0].steps[0].inputs[0].max", "min 10 is greater than max 5")


REGISTRATION = """
[registration]
category = "N1"
category_th = "รถยนต์บรรทุกส่วนบุคคล (รย.3)"
category_en = "Private goods vehicle (RY 3)"
seats = 2
gross_weight_kg = 2850
permitted_front_axle_kg = 1300
permitted_rear_axle_kg = 1800
max_curb_weight_increase_percent = 25.0
source = "registration book"
structural_change_th = "ไม่มี"
structural_change_en = "None"
"""


def with_registration(**changes) -> str:
    """VALID with a [registration] table after [model] (``changes``: lines replaced)."""
    table = REGISTRATION
    for key, value in changes.items():
        start = table.index(f"{key} = ")
        table = table[:start] + f"{key} = {value}" + table[table.index("\n", start) :]
    return broken('transmission = "MT"\n', 'transmission = "MT"\n' + table)


def test_registration_loads(tmp_path):
    manual = load_manual(write(tmp_path, with_registration()), qualification_codes=CODES)
    assert manual.registration.category_name("th") == "รถยนต์บรรทุกส่วนบุคคล (รย.3)"
    assert manual.registration.permitted_rear_axle_kg == 1800


def test_permitted_axle_loads_below_the_gross_weight(tmp_path):
    path = write(tmp_path, with_registration(permitted_rear_axle_kg="800"))
    assert_fails(
        path,
        "registration.permitted_rear_axle_kg",
        "the permitted axle loads add up to 2100 kg, less than the gross weight 2850 kg",
    )


def test_registration_values_are_checked(tmp_path):
    assert_fails(write(tmp_path, with_registration(seats="0")), "registration.seats", "1")
    assert_fails(write(tmp_path, with_registration(category='"M9"')), "registration.category", "M1")
    assert_fails(
        write(tmp_path, with_registration(structural_change_th='"None"')),
        "registration.structural_change_th",
        "Thai text expected",
    )


def test_measurement_without_limits(tmp_path):
    path = write(tmp_path, broken("min = 100.0\n", ""))
    assert_fails(path, "sections[1].steps[0].inputs[0]", "a measurement needs min, max or both")


def test_torque_tolerance_not_below_spec(tmp_path):
    path = write(tmp_path, broken("tolerance_nm = 5.0", "tolerance_nm = 90.0"))
    assert_fails(
        path,
        "sections[0].steps[1].inputs[0].tolerance_nm",
        "tolerance 90 Nm must be smaller than the spec 90 Nm",
    )


def test_unknown_input_type(tmp_path):
    path = write(tmp_path, broken('type = "torque"', 'type = "torqe"'))
    assert_fails(path, "sections[0].steps[1].inputs[0].type", "unknown input type 'torqe'")


def test_unknown_dependency(tmp_path):
    path = write(tmp_path, broken('depends_on = ["intake-02"]', 'depends_on = ["intake-03"]'))
    assert_fails(
        path,
        "sections[1].steps[0].depends_on[0]",
        "step 'hv-01' depends on unknown step 'intake-03'",
    )


def test_three_step_cycle_names_the_steps(tmp_path):
    # intake-01 -> hv-01 -> intake-02 -> intake-01
    text = broken("estimated_minutes = 10\n", 'estimated_minutes = 10\ndepends_on = ["hv-01"]\n')
    err = assert_fails(
        write(tmp_path, text),
        "sections[0].steps[1].depends_on[0]",
        "dependency cycle: intake-01 -> hv-01 -> intake-02 -> intake-01",
    )
    assert len(err.details) == 1


def test_self_dependency(tmp_path):
    path = write(tmp_path, broken('depends_on = ["intake-01"]', 'depends_on = ["intake-02"]'))
    assert_fails(
        path, "sections[0].steps[1].depends_on[0]", "step 'intake-02' cannot depend on itself"
    )


def test_duplicate_step_id(tmp_path):
    path = write(tmp_path, broken('id = "hv-01"', 'id = "intake-01"'))
    assert_fails(
        path,
        "sections[1].steps[0].id",
        "duplicate step id 'intake-01' (also sections[0].steps[0].id)",
    )


def test_duplicate_input_key_in_a_step(tmp_path):
    second = """
[[sections.steps.inputs]]
type = "confirmation"
key = "isolation_ohm_per_v"
label_th = "ยืนยัน"
label_en = "Confirm"
statement_th = "ตรวจแล้ว"
statement_en = "Checked"
"""
    assert_fails(
        write(tmp_path, VALID + second),
        "sections[1].steps[0].inputs[1].key",
        "duplicate input key 'isolation_ohm_per_v' (also inputs[0])",
    )


def test_unknown_step_qualification(tmp_path):
    path = write(tmp_path, broken('qualification = "hv_live"', 'qualification = "hv_expert"'))
    assert_fails(path, "sections[1].steps[0].qualification", "unknown qualification 'hv_expert'")


def test_unknown_manual_qualification(tmp_path):
    text = broken('qualification = "conversion_isuzu_dmax"', 'qualification = "conversion_dmax"')
    assert_fails(write(tmp_path, text), "qualification", "unknown qualification 'conversion_dmax'")


def test_high_voltage_step_without_countersign(tmp_path):
    path = write(tmp_path, broken("countersign = true\n", ""))
    assert_fails(
        path,
        "sections[1].steps[0].countersign",
        "a high_voltage step must have countersign = true",
    )


def test_high_voltage_step_without_hv_qualification(tmp_path):
    text = broken('qualification = "hv_live"', 'qualification = "conversion_isuzu_dmax"')
    assert_fails(
        write(tmp_path, text),
        "sections[1].steps[0].qualification",
        "a high_voltage step needs qualification hv_live or hv_qualified",
    )


def test_thai_field_without_thai(tmp_path):
    path = write(tmp_path, broken('title_th = "รับรถ"', 'title_th = "Intake"'))
    assert_fails(path, "sections[0].title_th", "Thai text expected")


def test_bad_toml_syntax_gives_the_line(tmp_path):
    line = 'title_en = "Torque the bracket'  # closing quote missing
    text = broken('title_en = "Torque the bracket"', line)
    line_number = text.splitlines().index(line) + 1
    path = write(tmp_path, text)
    result = None
    with pytest.raises(ManualError) as info:
        result = load_manual(path, qualification_codes=CODES)
    assert result is None
    assert info.value.file == path
    assert info.value.location.startswith(f"line {line_number}, column ")
    assert info.value.problem.startswith("TOML syntax error: ")


def test_empty_file(tmp_path):
    assert_fails(write(tmp_path, ""), "(file)", "the file is empty")


def test_comments_only_is_empty_too(tmp_path):
    assert_fails(write(tmp_path, "# nothing yet\n"), "(file)", "the file is empty")


def test_id_must_equal_the_file_stem(tmp_path):
    path = write(tmp_path, VALID, stem="maxi")
    assert_fails(path, "id", "id 'mini' must equal the file name without .toml ('maxi')")


def test_fingerprint_key_is_refused(tmp_path):
    text = broken('version = "1.0"\n', 'version = "1.0"\nfingerprint = "' + "0" * 64 + '"\n')
    assert_fails(write(tmp_path, text), "fingerprint", "computed from the file's bytes")


def test_not_utf8(tmp_path):
    path = tmp_path / "mini.toml"
    path.write_bytes(VALID.encode("utf-8").replace("รับรถ".encode(), b"\xff\xfe"))
    assert_fails(path, "(file)", "not UTF-8 text")


def test_missing_file(tmp_path):
    assert_fails(tmp_path / "absent.toml", "(file)", "file not found")


# --- check_manuals -------------------------------------------------------------------------------


def test_check_manuals_reports_each_file(tmp_path):
    good = write(tmp_path, VALID)
    (tmp_path / "bad").mkdir()
    bad = write(tmp_path / "bad", broken('unit = "km"', 'unit = "kg"'), stem="mini")
    results = check_manuals([good, bad], qualification_codes=CODES)
    assert [path for path, _ in results] == [good, bad]
    (_, first), (_, second) = results
    assert isinstance(first, Manual)
    assert first.id == "mini"
    assert isinstance(second, ManualError)
    assert second.file == bad
    assert second.location == "sections[0].steps[0].inputs[0].unit"


def test_check_manuals_on_a_directory(tmp_path):
    write(tmp_path, VALID)
    write(tmp_path, VALID, stem="other")
    results = check_manuals([tmp_path], qualification_codes=CODES)
    assert [path.name for path, _ in results] == ["mini.toml", "other.toml"]
    assert isinstance(results[0][1], Manual)
    assert isinstance(results[1][1], ManualError)
    assert results[1][1].location == "id"


@pytest.mark.parametrize("path", sorted(MANUALS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_step_can_be_signed_by_workshop_staff(path):
    # Steps are signed by technicians and supervisors; the inspector's own check is the
    # inspection, so a step asking for the inspector qualification could never be signed.
    manual = load_manual(path)
    assert [s.id for s in manual.steps if s.qualification == "inspector"] == []


def test_the_catalogue_parses_once_and_again_when_a_file_changes(monkeypatch, tmp_path):
    import shutil

    from workshop.manuals import loader

    folder = tmp_path / "manuals"
    shutil.copytree(loader.MANUALS_DIR, folder)
    monkeypatch.setattr(loader, "MANUALS_DIR", folder)
    loader._catalogue.clear()
    first = loader.manual_catalogue()
    assert loader.manual_catalogue() is first  # nothing changed: the same parsed manuals
    path = next(folder.glob("*.toml"))
    path.write_text(path.read_text() + "\n# edited\n")
    assert loader.manual_catalogue() is not first
    assert set(loader.manual_catalogue()) == set(first)

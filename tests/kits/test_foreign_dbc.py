"""Issue 13: each of a folder of third-party CAN databases, put in a copy of a shipped kit, makes
`workshop kits check` exit 1 naming the signals the kit's eol.toml maps and the file lacks (or
the file's own defect, with its place), or exit 0 when it carries them; never a traceback, never
over 30 s of CPU for a file under the size cap.

The folder (tests/kits/data/foreign_dbc/, see its README) holds the DBC files of cantools' own
test suite, deliberately malformed ones included, and real cars' files from opendbc, byte for
byte as their projects ship them.
"""

import codecs
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import workshop.eol.kitcheck  # noqa: F401  (registers the EOL half of `kits check`)
from workshop.candb import MAX_DBC_BYTES
from workshop.kits.commands import check_command
from workshop.kits.loader import KITS_DIR

REPO = Path(__file__).resolve().parents[2]
FOLDER = Path(__file__).parent / "data" / "foreign_dbc"
FOREIGN = sorted(p for p in FOLDER.rglob("*") if p.suffix.lower() == ".dbc")
KIT = "jazz-ev1"
# The issue's bound, for a file under the size cap: CPU seconds of the check (not wall time, so
# a loaded machine does not make it fail).
BOUND_S = 30.0

# Files whose own defect `kits check` must name (each with the words it must use); every other
# file of the folder is a usable database that lacks the kit's frames.
DEFECTS = {
    "cantools/BU_EV_REL_.dbc": ["defines no messages"],
    "cantools/bad_message_length.dbc": ["The signal Signal1 does not fit in message Message1"],
    "cantools/bus_comment_bare.dbc": ["defines no messages"],
    "cantools/bus_comment_bare_out.dbc": ["defines no messages"],
    "cantools/cp1252.dbc": ["defines no messages"],
    "cantools/empty_ns.dbc": ["defines no messages"],
    "cantools/environment_variable_data.dbc": ["defines no messages"],
    "cantools/environment_variable_multiple_access_nodes.dbc": ["defines no messages"],
    "cantools/incorrect-sig_valtype.dbc": [
        "SIG_VALTYPE_ entries for signals that no message defines: SIG_VALTYPE_ 345 signal2"
    ],
    "cantools/incorrect-val.dbc": ["VAL_ entries for signals that no message defines: VAL_ 99"],
    "cantools/issue_199.dbc": [
        "Standard frame id 0x10630000 is more than 11 bits in message DriverDoorStatus",
        "written with bit 31 set in a DBC: 2422407168",
    ],
    "cantools/issue_199_extended.dbc": ["Extended frame id 0x7fffffff is more than 29 bits"],
    "cantools/issue_62.dbc": ["defines no messages"],
    "cantools/issue_63.dbc": [
        "The signals HtrRes and MaxRes are overlapping in message AFT1PSI2",
        'non_strict = ["vehicle.dbc"]',
    ],
    "opendbc/chrysler_pacifica_2017_hybrid.dbc": [
        "VAL_ entries for signals that no message defines: VAL_ 501 CRUISE_STATE, VAL_ 792"
    ],
    "opendbc/gwm_haval_h6_phev_2024.dbc": ["overlapping in message CAR_OVERALL_SIGNALS"],
    "opendbc/hyundai_kia_generic.dbc": ["line 1656, column 5: cantools cannot load it: Invalid"],
    "opendbc/psa_aee2010_r3.dbc": ["line 165, column 6: cantools cannot load it: Invalid syntax"],
    "opendbc/rivian_primary_actuator.dbc": ["VAL_ 352 ACM_VehicleHoldRequired"],
    "opendbc/tesla_can.dbc": ["VAL_ 568 UI_mapSpeedLimit"],
    "opendbc/vw_meb.dbc": ["more than 11 bits in message MEB_Camera_04", "bit 31 set"],
}


def _mappings() -> list[str]:
    """Every name the kit's eol.toml maps onto its DBC, as `kits check` writes its place."""
    eol = tomllib.loads((KITS_DIR / KIT / "eol.toml").read_text(encoding="utf-8"))
    return [f"{section}.{name}" for section in ("signals", "commands") for name in eol[section]]


@pytest.fixture
def kit_copy(tmp_path):
    folder = tmp_path / "kits" / KIT
    shutil.copytree(KITS_DIR / KIT, folder)
    return folder


def check(folder: Path):
    """`workshop kits check FOLDER` through its command function; (exit code, output, CPU s)."""
    started = time.process_time()
    r = CliRunner().invoke(check_command, [str(folder.parent)])
    return r, time.process_time() - started


def assert_answered(r):
    """Exit 0 or 1 with every line an answer: no traceback, no exception, no stray line."""
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code in (0, 1), r.output
    assert "Traceback" not in r.output
    for line in r.output.splitlines():
        assert line.startswith(("ERROR ", "WARNING ", f"{KIT}  v")), line


def assert_names_the_missing_signals(output: str):
    errors = [line for line in output.splitlines() if line.startswith("ERROR ")]
    assert f"ERROR {KIT}/eol.toml: tester_node: the DBC has no node 'EOL_Tester'" in output
    for place in _mappings():
        named = [line for line in errors if re.search(rf": {re.escape(place)}(\[\d+\])?: ", line)]
        assert named, f"{place} is not named"
        assert all("no message '" in line for line in named), named


def test_the_folder_is_the_issues_size():
    assert len(FOREIGN) >= 88
    assert all(p.stat().st_size <= MAX_DBC_BYTES for p in FOREIGN)
    assert set(DEFECTS) <= {p.relative_to(FOLDER).as_posix() for p in FOREIGN}


@pytest.mark.parametrize(
    "foreign", FOREIGN, ids=[p.relative_to(FOLDER).as_posix() for p in FOREIGN]
)
def test_a_foreign_dbc_in_a_shipped_kit_is_answered(kit_copy, foreign):
    shutil.copyfile(foreign, kit_copy / "vehicle.dbc")
    r, cpu = check(kit_copy)
    assert_answered(r)
    assert r.exit_code == 1, r.output
    defect = DEFECTS.get(foreign.relative_to(FOLDER).as_posix())
    if defect:
        (line,) = r.output.splitlines()  # the file's defect, once, on one line
        assert "vehicle.dbc" in line
        for words in defect:
            assert words in line
    else:
        assert_names_the_missing_signals(r.output)
    assert cpu < BOUND_S, cpu


# --- a real file in other dress: encodings, damage, size ------------------------------------------

REAL = FOLDER / "opendbc" / "tesla_model3_party.dbc"


def _damaged(raw: bytes) -> bytes:
    """One character wrong in the tenth message's first signal (line 142): '(1;0)' for '(1,0)'.
    (A file cut short is no syntax error to cantools: it keeps the frames before the cut, and
    the kit's frames are then named as missing.)"""
    tenth = [m.start() for m in re.finditer(rb"\nBO_ ", raw)][9]
    at = raw.index(b"(1,", tenth)
    return raw[:at] + b"(1;" + raw[at + 3 :]


DRESSES = {
    "utf8-bom": (lambda raw: codecs.BOM_UTF8 + raw, None),
    "utf16-bom": (lambda raw: codecs.BOM_UTF16_LE + raw.decode().encode("utf-16-le"), None),
    "utf16-no-bom": (lambda raw: raw.decode().encode("utf-16-le"), None),
    "crlf": (lambda raw: raw.replace(b"\n", b"\r\n"), None),
    "comment-first": (lambda raw: b"// exported by the vendor's tool\n" + raw, None),
    "empty": (lambda raw: b"", "not a usable CAN database: the file is empty"),
    "blank": (lambda raw: b"\n \r\n\t\n", "not a usable CAN database: the file is empty"),
    "cut-short": (lambda raw: raw[: len(raw) // 2], None),
    "damaged": (_damaged, "line 142, column 43: cantools cannot load it: Invalid syntax at"),
    "bad-utf16": (
        lambda raw: codecs.BOM_UTF16_LE + b"V\x00E\x00\x00\xd8R\x00",
        "not valid UTF-16-LE text at byte",
    ),
    "binary": (lambda raw: bytes(range(256)) * 8, "a binary file, not a DBC text file"),
    "spreadsheet": (
        lambda raw: b"Message;ID;Signal;Start\nBMS_Status;0x100;SOC;0\n",
        "not a CAN database (DBC) file: it begins with 'Message;ID;Signal;Start'",
    ),
    "over-the-cap": (
        lambda raw: raw * (MAX_DBC_BYTES // len(raw) + 1),
        "a CAN database over 4 MB is refused",
    ),
}


@pytest.mark.parametrize("dress", DRESSES)
def test_a_real_file_in_any_dress_is_read_or_its_defect_named(kit_copy, dress):
    make, defect = DRESSES[dress]
    (kit_copy / "vehicle.dbc").write_bytes(make(REAL.read_bytes()))
    r, cpu = check(kit_copy)
    assert_answered(r)
    assert r.exit_code == 1, r.output
    if defect is None:  # read whatever its encoding: the kit's frames are named as missing
        assert_names_the_missing_signals(r.output)
    else:
        (line,) = r.output.splitlines()
        assert "vehicle.dbc" in line and defect in line, line
    assert cpu < BOUND_S, cpu


def test_a_file_just_under_the_cap_is_checked_within_the_bound(kit_copy):
    """A vendor's database of about 10,000 frames, a few kB under the cap: the slowest kind of
    file the cap lets in (cantools builds an object per frame and signal)."""
    lines = ['VERSION ""\n\nBU_: BMS VCU\n\n']
    size, n = len(lines[0]), 0
    while size < MAX_DBC_BYTES - 4096:
        frame = f"BO_ {0x80000000 + n} Vendor_{n}: 8 BMS\n" + "".join(
            f' SG_ Value_{n}_{s} : {s * 8}|8@1+ (0.1,0) [0|25.5] "V" VCU\n' for s in range(8)
        )
        lines.append(frame + "\n")
        size, n = size + len(frame) + 1, n + 1
    (kit_copy / "vehicle.dbc").write_text("".join(lines), encoding="ascii")
    r, cpu = check(kit_copy)
    assert_answered(r)
    assert r.exit_code == 1
    assert_names_the_missing_signals(r.output)
    assert cpu < BOUND_S, cpu


# --- exit 0: a foreign file that carries what eol.toml maps ---------------------------------------


@pytest.mark.parametrize("dress", ["utf8-bom", "utf16-bom", "crlf", "comment-first"])
def test_the_kits_own_database_in_another_dress_passes(kit_copy, dress):
    dbc = kit_copy / "vehicle.dbc"
    dbc.write_bytes(DRESSES[dress][0](dbc.read_bytes().decode("cp1252").encode("utf-8")))
    r, _cpu = check(kit_copy)
    assert_answered(r)
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"{KIT}  v")


def _vendor_with_overlay(kit_copy, vendor: Path):
    """The vendor's file kept as shipped; the kit's own frames become its overlay."""
    shutil.copyfile(vendor, kit_copy / "vendor.dbc")
    eol = kit_copy / "eol.toml"
    text = eol.read_text(encoding="utf-8")
    text = text.replace('dbc = "vehicle.dbc"', 'dbc = "vendor.dbc"\noverlays = ["vehicle.dbc"]', 1)
    eol.write_text(text, encoding="utf-8")


def test_a_vendor_file_with_the_kits_overlay_passes(kit_copy):
    _vendor_with_overlay(kit_copy, FOLDER / "cantools" / "vehicle.dbc")
    r, _cpu = check(kit_copy)
    assert_answered(r)
    assert r.exit_code == 0, r.output


def test_a_vendor_file_whose_frame_ids_clash_with_the_overlay_is_named(kit_copy, capfd):
    """Tesla's party bus uses 0x221, the Jazz kit's BMS_CellV_18 too: one frame on the bus."""
    _vendor_with_overlay(kit_copy, REAL)
    r, _cpu = check(kit_copy)
    assert_answered(r)
    assert r.exit_code == 1
    assert (
        f"ERROR {KIT}/vendor.dbc + {KIT}/vehicle.dbc: frame ID 0x221 is used by 2 messages "
        "(VCFRONT_LVPowerState, BMS_CellV_18)" in r.output
    )
    assert "Overwriting message" not in capfd.readouterr().err  # said once, by kits check


# --- the console script itself, in its own process -------------------------------------------------

THROUGH_THE_SCRIPT = [
    FOLDER / "cantools" / "abs.dbc",
    FOLDER / "cantools" / "issue_63.dbc",
    FOLDER / "opendbc" / "psa_aee2010_r3.dbc",
]


def test_the_workshop_command_exits_1_or_0_never_a_traceback(tmp_path, kit_copy):
    env = {**os.environ, "WORKSHOP_INSTANCE_PATH": str(tmp_path / "instance")}
    command = [sys.executable, "-m", "workshop.cli", "kits", "check", str(kit_copy.parent)]

    def run():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        assert done.stderr == "", done.stderr
        assert cpu < BOUND_S, cpu
        return done

    assert run().returncode == 0  # the shipped kit as it is
    for foreign in THROUGH_THE_SCRIPT:
        shutil.copyfile(foreign, kit_copy / "vehicle.dbc")
        done = run()
        assert done.returncode == 1, (foreign.name, done.stdout)
        lines = done.stdout.splitlines()
        assert lines and all(line.startswith("ERROR ") for line in lines), done.stdout

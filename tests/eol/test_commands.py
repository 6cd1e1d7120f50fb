"""The eol CLI: a table row per check and exit codes 0 pass, 1 fail, 2 usage or bus error."""

import json
import re
import shutil
import uuid

import pytest
from click.testing import CliRunner

from workshop.eol.commands import eol_cli
from workshop.eol.definitions import kit_specs_root
from workshop.eol.engine import plan_checks
from workshop.eol.faults import FAULTS

FAST = ["--simulate", "--seed", "5"]


@pytest.fixture
def cli():
    """Return a callable invoking ``workshop eol ...`` and returning click's Result."""
    runner = CliRunner(env={"LC_ALL": "en_US.UTF-8"})  # messages in English unless --lang

    def invoke(*args):
        return runner.invoke(eol_cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_simulated_run_passes_and_prints_every_check(cli, tmp_path):
    trace = tmp_path / "run.blf"
    result = cli("run", "--kit", "jazz-ev1", "--sequence", "ecu", *FAST, "--trace", trace)
    assert result.exit_code == 0, result.output
    for check in plan_checks(sequences=["ecu"]):
        assert f"{check.check_id}" in result.output
    assert "PASS: 9 passed, 0 failed" in result.output
    assert f"Trace: {trace}" in result.output and trace.exists()


def test_injected_fault_exits_1_with_the_message(cli, tmp_path):
    result = cli(
        "run",
        "--kit",
        "dmax-ev2",
        "--sequence",
        "ecu",
        *FAST,
        "--fault",
        "ignored_drive_mode",
        "--trace",
        tmp_path / "x.blf",
    )
    assert result.exit_code == 1
    row = next(line for line in result.output.splitlines() if line.startswith("ecu.drive_modes"))
    assert "FAIL" in row and "drive mode City requested, ECU still reports POWER" in row


def test_json_output(cli, tmp_path):
    result = cli(
        "run",
        "--kit",
        "vios-ev1",
        "--check",
        "bms.isolation",
        *FAST,
        "--json",
        "--trace",
        tmp_path / "x.blf",
    )
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["outcome"] == "pass" and [c["check_id"] for c in data["checks"]] == [
        "bms.isolation"
    ]


def test_silent_bus_exits_2(cli, tmp_path):
    result = cli(
        "run",
        "--kit",
        "jazz-ev1",
        "--interface",
        "virtual",
        "--channel",
        f"silent-{uuid.uuid4().hex}",
        "--trace",
        tmp_path / "x.blf",
    )
    assert result.exit_code == 2
    assert "Run aborted: no CAN traffic" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--kit", "jazz-ev1"],
        ["run", "--kit", "jazz-ev1", "--simulate", "--interface", "virtual", "--channel", "x"],
        [
            "run",
            "--kit",
            "jazz-ev1",
            "--interface",
            "virtual",
            "--channel",
            "x",
            "--fault",
            "dead_pump",
        ],
        ["run", "--kit", "jazz-ev1", "--interface", "virtual"],
        ["run", "--kit", "jazz-ev1", "--simulate", "--fault", "no_such_fault"],
        ["run", "--kit", "jazz-ev1", "--simulate", "--sequence", "gearbox"],
        ["run", "--kit", "jazz-ev1", "--simulate", "--check", "bms.nonsense"],
        [
            "run",
            "--kit",
            "jazz-ev1",
            "--interface",
            "virtual",
            "--channel",
            "x",
            "--seed",
            "5",
        ],
        ["run", "--kit", "jazz-ev1", "--simulate", "--speed", "50"],
        ["run", "--kit", "jazz-ev1", "--simulate", "--speed", "0.5"],
        ["run", "--kit", "jazz-ev1", "--simulate", "--seed", "-1"],
        ["simulate"],
    ],
)
def test_usage_errors_exit_2(cli, args):
    assert cli(*args).exit_code == 2


def test_unknown_kit_and_broken_kit_exit_2(cli, tmp_path):
    result = cli("run", "--kit", "no-such-kit", *FAST)
    assert result.exit_code == 2 and "no-such-kit: no such kit folder" in result.output
    shutil.copytree(kit_specs_root() / "jazz-ev1", tmp_path / "jazz-ev1")
    eol = tmp_path / "jazz-ev1" / "eol.toml"
    eol.write_text(eol.read_text().replace('signal = "BMS_SOC"', 'signal = "BMS_StateOfCharge"'))
    result = cli("validate", "--kit-root", tmp_path)
    assert result.exit_code == 2
    assert (
        "signals.soc: message 'BMS_PackStatus' has no signal 'BMS_StateOfCharge'" in result.output
    )


def test_validate_all_kits(cli):
    result = cli("validate")
    assert result.exit_code == 0
    for kit in ("jazz-ev1", "vios-ev1", "dmax-ev2", "dmax-ev2-vendor"):
        assert f"{kit}: ok" in result.output


def test_simulate_lists_faults_and_runs_for_a_while(cli):
    listing = cli("simulate", "--list-faults")
    assert listing.exit_code == 0
    for name, fault in FAULTS.items():
        assert name in listing.output and fault.check_id in listing.output
    result = cli(
        "simulate",
        "--kit",
        "jazz-ev1",
        "--channel",
        f"sim-{uuid.uuid4().hex}",
        "--fault",
        "vacuum_leak",
        "--duration",
        "0.2",
        "--time-scale",
        "10",
    )
    assert result.exit_code == 0
    assert "with vacuum_leak" in result.output and "Stopped after" in result.output


def test_check_trace(cli, tmp_path):
    trace = tmp_path / "run.blf"
    assert (
        cli("run", "--kit", "jazz-ev1", "--sequence", "bms", *FAST, "--trace", trace).exit_code == 0
    )
    result = cli("check-trace", trace, "--kit", "jazz-ev1")
    assert result.exit_code == 0 and "bms.cell_voltage" in result.output
    broken = tmp_path / "broken.blf"
    broken.write_bytes(trace.read_bytes()[:300])
    result = cli("check-trace", broken, "--kit", "jazz-ev1")
    assert result.exit_code == 2 and "truncated" in result.output


def test_same_seed_prints_the_same_json(cli, tmp_path):
    def run(seed, name):
        args = ["run", "--kit", "vios-ev1", "--simulate", "--seed", seed, "--json"]
        result = cli(*args, "--fault", "cell_imbalance", "--trace", tmp_path / name)
        assert result.exit_code == 1, result.output
        data = json.loads(result.output)
        for key in ("started_at", "finished_at"):
            data.pop(key)
        data["trace"].pop("path")
        for check in data["checks"]:
            check.pop("started_at"), check.pop("duration_s")
        return data

    first, again = run(11, "a.blf"), run(11, "b.blf")
    assert first == again and first["seed"] == 11
    assert run(12, "c.blf")["trace"]["sha256"] != first["trace"]["sha256"]


def test_a_random_seed_is_printed_so_the_run_can_be_repeated(cli, tmp_path):
    trace = tmp_path / "seed.blf"
    result = cli("run", "--kit", "jazz-ev1", "--simulate", "--check", "bms.soc", "--trace", trace)
    assert result.exit_code == 0, result.output
    assert "simulator (seed " in result.output


def test_list_faults_of_a_kit_shows_only_what_it_can_reveal(cli, tmp_path):
    shutil.copytree(kit_specs_root() / "jazz-ev1", tmp_path / "jazz-ev1")
    eol = tmp_path / "jazz-ev1" / "eol.toml"
    lines = eol.read_text().splitlines(keepends=True)
    eol.write_text("".join(ln for ln in lines if not ln.startswith("balancing_active =")))
    shipped = cli("simulate", "--list-faults", "--kit", "jazz-ev1")
    assert shipped.exit_code == 0 and "no_balancing_status" in shipped.output
    listing = cli("simulate", "--list-faults", "--kit", "jazz-ev1", "--kit-root", tmp_path)
    assert listing.exit_code == 0
    assert "no_balancing_status" not in listing.output and "vacuum_leak" in listing.output
    refused = cli(
        "run",
        "--kit",
        "jazz-ev1",
        "--kit-root",
        tmp_path,
        "--simulate",
        "--fault",
        "no_balancing_status",
    )
    assert refused.exit_code == 2 and "cannot show no_balancing_status" in refused.output


THAI = re.compile(r"[\u0e00-\u0e7f]")


@pytest.mark.parametrize("fault", ["precharge_failure", "silent_bms_alarm", "cell_overvoltage"])
def test_lang_th_prints_every_message_in_thai(cli, tmp_path, fault):
    result = cli(
        "run",
        "--kit",
        "dmax-ev2",
        *FAST,
        "--fault",
        fault,
        "--lang",
        "th",
        "--json",
        "--trace",
        tmp_path / "th.blf",
    )
    data = json.loads(result.output)
    assert result.exit_code == 1
    for check in data["checks"]:
        assert THAI.search(check["message"]), (check["check_id"], check["message"])
        assert check["message_code"] and "message_params" in check
    english = cli(
        "run",
        "--kit",
        "dmax-ev2",
        *FAST,
        "--fault",
        fault,
        "--lang",
        "en",
        "--json",
        "--trace",
        tmp_path / "en.blf",
    )
    assert not any(THAI.search(c["message"]) for c in json.loads(english.output)["checks"])


def test_every_message_and_label_has_thai():
    from workshop.eol.messages import translations
    from workshop.eol.texts import LABELS, MESSAGES

    th = translations("th")
    for text in [*MESSAGES.values(), *LABELS.values()]:
        words = re.sub(r"%\(\w+\)s", "", text)
        if any(c.isalpha() for c in words):
            translated = th.gettext(text)
            assert translated != text, text


def test_language_defaults_from_the_locale(monkeypatch):
    from workshop.eol.messages import default_language

    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "th_TH.UTF-8")
    assert default_language() == "th"
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    assert default_language() == "en"


@pytest.mark.parametrize("kit", ["jazz-ev1", "vios-ev1", "dmax-ev2", "dmax-ev2-vendor"])
def test_thai_run_prints_no_english_words(cli, tmp_path, kit):
    """`--lang th`: the title, the table header, every row's result and message, the summary and
    the trace line are Thai. What may stay Latin: check ids, the kit id, units, the trace's path
    and hash, DBC state names (upper case) and the technical abbreviations of the trade."""
    trace = tmp_path / "run.blf"
    result = cli("run", "--kit", kit, *FAST, "--lang", "th", "--trace", trace)
    assert result.exit_code == 0, result.output
    text = result.output.replace(str(trace), "")
    text = re.sub(r"\b[a-z_]+\.[a-z_]+\b", "", text)  # check ids
    text = re.sub(r"\b[0-9a-f]{64}\b", "", text).replace(kit, "")
    english = set(re.findall(r"\b[a-z]{3,}\b", text)) - {"seed", "sha", "link"}
    assert not english, f"English words in the Thai run: {sorted(english)}\n{result.output}"
    assert "ผ่าน" in result.output and "รายการตรวจ" in result.output

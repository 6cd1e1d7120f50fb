"""Click commands for EOL testing; the app registers ``eol_cli`` in the ``workshop`` group.

    workshop eol run --kit jazz-ev1 --simulate [--seed 7] [--fault vacuum_leak] [--sequence brakes]
    workshop eol run --kit jazz-ev1 --interface socketcan --channel can0 [--bitrate 500000]
    workshop eol simulate --kit jazz-ev1 --interface socketcan --channel vcan0 [--fault ...]
    workshop eol check-trace recorded.blf --kit jazz-ev1
    workshop eol validate [--kit jazz-ev1]

Exit codes: 0 every check passed, 1 a check failed or could not be performed, 2 usage error,
unusable kit definition or trace, or a bus failure (the run was aborted).
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import can
import click

from workshop.eol.definitions import EolDefinitionError, KitDefinition, list_kits, load_kit
from workshop.eol.engine import SEQUENCES, CheckResult, Outcome, RunOutcome, RunResult, run_eol
from workshop.eol.faults import FAULTS, applicable_faults
from workshop.eol.messages import LANGUAGES, default_language, render
from workshop.eol.runner import certificate_policy_problems, evaluate_trace, mandatory_not_passed
from workshop.eol.simbus import MAX_SPEED, SimulatedBus, VehicleSimulator
from workshop.eol.traces import TraceError

EXIT_PASS, EXIT_FAIL, EXIT_ABORTED = 0, 1, 2
_OUTCOME_CODE = {
    Outcome.PASS: "cli_check_pass",
    Outcome.FAIL: "cli_check_fail",
    Outcome.ERROR: "cli_check_error",
    Outcome.SKIPPED: "cli_check_skipped",
}
_VERDICT_CODE = {
    RunOutcome.PASS: "cli_check_pass",
    RunOutcome.FAIL: "cli_check_fail",
    RunOutcome.ERROR: "cli_check_error",
    RunOutcome.ABORTED: "cli_run_aborted",
}


LANG_OPTION = click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=default_language,
    show_default="from the locale: en for an English locale, else th",
    help="Language of the check messages.",
)


class _Abort(click.ClickException):
    """A kit, trace or bus problem: printed as 'Error: ...', exit code 2."""

    exit_code = EXIT_ABORTED


def _load(kit: str, kit_root: str | None) -> KitDefinition:
    try:
        return load_kit(kit, kit_root)
    except EolDefinitionError as exc:
        raise _Abort(f"kit '{kit}' cannot be used:\n" + "\n".join(exc.problems)) from None


def _row(result: CheckResult, lang: str = "en") -> str:
    shown = next((m for m in result.measurements if m.outcome is Outcome.FAIL), None)
    shown = shown or (result.measurements[0] if result.measurements else None)
    measured = shown.value_text if shown else ""
    limits = shown.limits_text if shown else ""
    outcome = render(_OUTCOME_CODE[result.outcome], lang=lang)
    return (
        f"{result.check_id:<26} {outcome:<5} {measured:>14} {limits:<18} {result.message_in(lang)}"
    )


def _header(lang: str = "en") -> str:
    def col(name: str) -> str:
        return render(f"cli_col_{name}", lang=lang)

    return (
        f"{col('check'):<26} {col('result'):<5} {col('measured'):>14} {col('limits'):<18} "
        f"{col('message')}"
    )


def _finish(
    result: RunResult, as_json: bool, lang: str = "en", missing: list[str] | None = None
) -> None:
    """Print the verdict and exit 0 pass / 1 fail / 2 aborted. ``missing``: mandatory checks of
    the run that did not pass (skipped, errored, unmapped): the run is INCOMPLETE, exit 1."""
    incomplete = bool(missing) and result.outcome in (RunOutcome.PASS, RunOutcome.ERROR)
    if as_json:
        data = result.to_dict(lang)
        if missing is not None:
            data["mandatory_not_passed"] = missing
            data["incomplete"] = incomplete
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        counts = {o: sum(1 for c in result.checks if c.outcome is o) for o in Outcome}
        verdict = render(_VERDICT_CODE[result.outcome], lang=lang)
        if incomplete:
            verdict = render("cli_run_incomplete", lang=lang)
        summary = {
            "verdict": verdict,
            "passed": counts[Outcome.PASS],
            "failed": counts[Outcome.FAIL],
            "errors": counts[Outcome.ERROR],
            "skipped": counts[Outcome.SKIPPED],
        }
        click.echo("\n" + render("cli_summary", summary, lang))
        if incomplete:
            names = ", ".join(missing)
            click.echo(render("cli_mandatory_not_passed", {"checks": names}, lang))
        if result.abort_reason:
            reason = result.to_dict(lang)["abort_reason"]
            click.echo(render("cli_aborted", {"reason": reason}, lang), err=True)
        if result.trace is not None:
            trace = {
                "path": str(result.trace.path),
                "frames": result.trace.frames,
                "sha256": result.trace.sha256,
            }
            click.echo(render("cli_trace", trace, lang))
    if result.outcome is RunOutcome.ABORTED:
        raise SystemExit(EXIT_ABORTED)
    if incomplete:
        raise SystemExit(EXIT_FAIL)
    raise SystemExit(EXIT_PASS if result.outcome is RunOutcome.PASS else EXIT_FAIL)


@click.group("eol")
def eol_cli() -> None:
    """CAN end-of-line tests of the ECU, BMS and brakes."""


@eol_cli.command("run")
@click.option("--kit", "kit_id", required=True, help="Kit id (folder under kit_specs/).")
@click.option(
    "--sequence",
    "sequences",
    multiple=True,
    type=click.Choice(SEQUENCES),
    help="Run only these sequences (repeatable; default all).",
)
@click.option("--check", "check_ids", multiple=True, help="Run only these check ids.")
@click.option("--simulate", is_flag=True, help="Test the built-in vehicle simulator.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    type=click.Choice(sorted(FAULTS)),
    help="Inject a simulator fault (repeatable; needs --simulate).",
)
@click.option("--interface", help="python-can interface, e.g. socketcan, pcan, kvaser.")
@click.option("--channel", help="CAN channel, e.g. can0.")
@click.option("--bitrate", type=int, help="Bitrate in bit/s (e.g. 500000).")
@click.option(
    "--seed",
    type=click.IntRange(0),
    help="Simulator seed (only with --simulate; default: a random one, printed). The same "
    "kit, faults and seed give the same result.",
)
@click.option(
    "--speed",
    type=click.FloatRange(0, MAX_SPEED),
    default=0.0,
    show_default=True,
    help="Pace the simulator at this many vehicle seconds per wall second to watch it "
    "(0: as fast as the computer allows; only with --simulate).",
)
@click.option(
    "--trace",
    "trace_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the BLF trace (default: a temporary file).",
)
@click.option("--kit-root", type=click.Path(file_okay=False), help="Folder holding the kits.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON at the end.")
@LANG_OPTION
def run_command(
    kit_id,
    sequences,
    check_ids,
    simulate,
    faults,
    interface,
    channel,
    bitrate,
    seed,
    speed,
    trace_path,
    kit_root,
    as_json,
    lang,
):
    """Run EOL sequences against a vehicle (or the simulator) and print every check."""
    if simulate == bool(interface or channel):
        raise click.UsageError("use either --simulate or --interface/--channel")
    if faults and not simulate:
        raise click.UsageError("--fault needs --simulate")
    if not simulate and not (interface and channel):
        raise click.UsageError("a real bus needs both --interface and --channel")
    if (seed is not None or speed) and not simulate:
        raise click.UsageError("--seed and --speed only apply to --simulate")
    if speed and speed < 1:
        raise click.UsageError("--speed is 0 (as fast as possible) or between 1 and 20")
    kit = _load(kit_id, kit_root)
    foreign = [f for f in faults if f not in applicable_faults(kit)]
    if foreign:
        raise click.UsageError(
            f"kit {kit.kit_id} cannot show {', '.join(foreign)} "
            f"(see: workshop eol simulate --list-faults --kit {kit.kit_id})"
        )
    if seed is None:
        seed = secrets.randbelow(1_000_000)
    try:
        bus_kwargs = {"bitrate": bitrate} if bitrate else {}
        if simulate:
            # The simulated vehicle on its own discrete-event clock: no wall-clock waits.
            bus = SimulatedBus(kit, faults=list(faults), seed=seed, speed=speed)
        else:
            bus = can.Bus(interface=interface, channel=channel, **bus_kwargs)
    except (can.CanError, OSError, ValueError, ImportError) as exc:
        raise _Abort(f"cannot open CAN interface {interface} channel {channel}: {exc}") from None

    if not as_json:
        if simulate and faults:
            title = render(
                "cli_run_simulator_faults",
                {"kit": kit.kit_id, "seed": seed, "faults": ", ".join(faults)},
                lang,
            )
        elif simulate:
            title = render("cli_run_simulator", {"kit": kit.kit_id, "seed": seed}, lang)
        else:
            params = {"kit": kit.kit_id, "interface": interface, "channel": channel}
            title = render("cli_run_bus", params, lang)
        click.echo(title)
        click.echo(_header(lang))

    def show(result: CheckResult) -> None:
        if not as_json:
            click.echo(_row(result, lang))

    try:
        result = run_eol(
            kit,
            bus,
            sequences or None,
            on_check=show,
            trace_path=trace_path,
            check_ids=check_ids or None,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        bus.shutdown()
    planned = {c.check_id for c in result.checks}
    outcomes = {c.check_id: c.outcome.value for c in result.checks}
    missing = [c for c in mandatory_not_passed(kit, outcomes) if c in planned]
    _finish(result, as_json, lang, missing)


@eol_cli.command("simulate")
@click.option("--kit", "kit_id", help="Kit id whose DBC the simulator speaks.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    type=click.Choice(sorted(FAULTS)),
    help="Inject a fault (repeatable).",
)
@click.option("--interface", default="virtual", show_default=True, help="python-can interface.")
@click.option("--channel", default="eol-bench", show_default=True, help="CAN channel.")
@click.option("--bitrate", type=int, help="Bitrate in bit/s.")
@click.option(
    "--time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Vehicle seconds per wall second.",
)
@click.option("--duration", type=float, help="Stop after this many seconds (default: Ctrl-C).")
@click.option(
    "--list-faults",
    is_flag=True,
    help="List the injectable faults (with --kit: those this kit can show) and exit.",
)
@click.option("--kit-root", type=click.Path(file_okay=False), help="Folder holding the kits.")
def simulate_command(
    kit_id, faults, interface, channel, bitrate, time_scale, duration, list_faults, kit_root
):
    """Run the vehicle simulator on a CAN bus until Ctrl-C."""
    if list_faults:
        kit = _load(kit_id, kit_root) if kit_id else None
        faults = applicable_faults(kit) if kit is not None else FAULTS
        click.echo(f"{'FAULT':<27} {'CAUGHT BY':<26} DESCRIPTION")
        for fault in faults.values():
            click.echo(f"{fault.name:<27} {fault.check_id:<26} {fault.description('en', kit)}")
        return
    if not kit_id:
        raise click.UsageError("--kit is required (or use --list-faults)")
    if time_scale <= 0:
        raise click.UsageError("--time-scale must be positive")
    kit = _load(kit_id, kit_root)
    foreign = [f for f in faults if f not in applicable_faults(kit)]
    if foreign:
        raise click.UsageError(f"kit {kit.kit_id} cannot show {', '.join(foreign)}")
    kwargs = {"bitrate": bitrate} if bitrate else {}
    try:
        simulator = VehicleSimulator(
            kit,
            channel=channel,
            interface=interface,
            faults=list(faults),
            time_scale=time_scale,
            bus_kwargs=kwargs,
        ).start()
    except (can.CanError, OSError, ValueError, ImportError) as exc:
        raise _Abort(f"cannot open CAN interface {interface} channel {channel}: {exc}") from None
    click.echo(
        f"Simulating {kit.kit_id} on {interface} {channel}"
        + (f" with {', '.join(faults)}" if faults else "")
        + " (Ctrl-C to stop)"
    )
    started = time.monotonic()
    try:
        while simulator.running and (duration is None or time.monotonic() - started < duration):
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    if simulator.error is not None:
        raise _Abort(f"simulator stopped: {simulator.error}")
    click.echo(f"Stopped after {simulator.frames_sent} frames.")


@eol_cli.command("check-trace")
@click.argument("trace_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kit", "kit_id", required=True, help="Kit id whose DBC the trace uses.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["blf", "asc", "log", "candump", "trc"]),
    help="Trace format (default: from the file extension).",
)
@click.option(
    "--time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Time scale of the run that recorded the trace.",
)
@click.option("--kit-root", type=click.Path(file_okay=False), help="Folder holding the kits.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@LANG_OPTION
def check_trace_command(trace_file, kit_id, fmt, time_scale, kit_root, as_json, lang):
    """Evaluate the passive checks on a recorded trace (BLF, ASC, candump log, TRC)."""
    kit = _load(kit_id, kit_root)
    if not as_json:
        params = {"file": trace_file.name, "kit": kit.kit_id}
        click.echo(render("cli_trace_check", params, lang))
        click.echo(_header(lang))
    try:
        result = evaluate_trace(
            kit,
            trace_file,
            fmt,
            time_scale=time_scale,
            on_check=None if as_json else (lambda r: click.echo(_row(r, lang))),
        )
    except TraceError as exc:
        raise _Abort(exc.message_in(lang)) from None
    _finish(result, as_json, lang)


@eol_cli.command("validate")
@click.option("--kit", "kit_ids", multiple=True, help="Kit id (repeatable; default all kits).")
@click.option("--kit-root", type=click.Path(file_okay=False), help="Folder holding the kits.")
def validate_command(kit_ids, kit_root):
    """Check kits' eol.toml against their DBC and report every problem."""
    kits = list(kit_ids) or list_kits(kit_root)
    if not kits:
        raise _Abort("no kits found")
    bad = 0
    for kit_id in kits:
        try:
            kit = load_kit(kit_id, kit_root)
            problems = certificate_policy_problems(kit)
            if problems:
                raise EolDefinitionError(problems)
        except EolDefinitionError as exc:
            bad += 1
            click.echo(f"{kit_id}: INVALID")
            for problem in exc.problems:
                click.echo(f"  {problem}")
            continue
        click.echo(
            f"{kit_id}: ok ({len(kit.bindings)} names bound to "
            f"{len(kit.database.messages)} DBC messages)"
        )
    if bad:
        raise SystemExit(EXIT_ABORTED)

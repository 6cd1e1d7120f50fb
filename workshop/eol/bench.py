"""The bench agent: the only process that opens a CAN bus.

It claims queued runs for its benches, opens the adapter named in the bench's configuration (or
a simulated bus: the vehicle simulator on its own discrete-event clock, paced at the run's
speed), runs the engine and writes every check to the
database as it finishes, then keeps the BLF trace as evidence.
"""

import logging
import os
import socket
import threading
import time

import can

from workshop.eol.bay import VirtualBayBus
from workshop.eol.definitions import EolDefinitionError, load_kit
from workshop.eol.engine import plan_checks, run_eol
from workshop.eol.models import EolRun
from workshop.eol.runs import (
    abort_run,
    claim_next_run,
    finish_run,
    heartbeat,
    keep_partial_trace,
    partial_trace_path,
    reap_stale_runs,
    record_check,
    software_version,
    stale_after,
)
from workshop.eol.simbus import SimulatedBus
from workshop.extensions import db

log = logging.getLogger(__name__)
HEARTBEAT_EVERY_S = 1.0


def agent_name() -> str:
    """host:pid — names the agent in the run record and the audit log."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _open_bus(config: dict, run: EolRun, kit) -> can.BusABC:
    if config.get("simulate"):
        # The verdict depends only on the kit, the faults and the seed; the speed only paces the
        # simulated clock so people can watch, and a slow host makes it wait, never abort.
        return SimulatedBus(
            kit,
            faults=list(run.faults),
            seed=run.seed if run.seed is not None else 1,
            speed=run.time_scale,
            channel=f"{config.get('channel', 'sim')}-run{run.id}",
        )
    if str(config.get("interface", "")).lower() == "virtual" and config.get("car") == "simulated":
        # a development bay: the simulated car answers on the far end of the virtual channel
        return VirtualBayBus(
            kit,
            channel=f"{config.get('channel', 'bay')}-run{run.id}",
            seed=run.seed if run.seed is not None else 1,
        )
    kwargs = {"interface": config["interface"], "channel": config["channel"]}
    if config.get("bitrate"):
        kwargs["bitrate"] = int(config["bitrate"])
    return can.Bus(**kwargs)


def adapter_serial(bus: can.BusABC) -> str:
    """The adapter's serial number where the python-can interface reports one (PCAN, Kvaser and
    Vector report it in ``channel_info``), else its channel description."""
    for attribute in ("serial_number", "serial"):
        value = getattr(bus, attribute, None)
        if value:
            return str(value)[:64]
    return str(getattr(bus, "channel_info", "") or "")[:64]


def execute_run(run: EolRun, config: dict, trace_folder: str) -> EolRun:
    """Run a claimed ``run`` on the bench described by ``config`` and store everything."""
    try:
        kit = load_kit(run.kit_id)
        run.checks_planned = len(plan_checks(kit, run.sequences))
        db.session.commit()
    except EolDefinitionError as exc:
        abort_run(run, f"the kit's EOL definition cannot be used: {exc}")
        db.session.commit()
        return run
    run.agent_host = socket.gethostname()[:128]
    run.software_version = software_version()
    try:
        bus = _open_bus(config, run, kit)
        run.adapter_serial = adapter_serial(bus)
    except (can.CanError, OSError, ValueError, ImportError) as exc:
        abort_run(
            run,
            f"could not open the CAN adapter ({config.get('interface')} "
            f"{config.get('channel')}): {exc}",
        )
        db.session.commit()
        return run

    # Checks side by side finish out of order: each is stored at its place in the plan.
    position = {info.check_id: n for n, info in enumerate(plan_checks(kit, run.sequences), 1)}
    last_beat = {"t": 0.0}

    def on_check(result):
        record_check(run, result, position[result.check_id])
        db.session.commit()

    def should_abort():
        if time.monotonic() - last_beat["t"] < HEARTBEAT_EVERY_S:
            return None
        last_beat["t"] = time.monotonic()
        return "cancelled by the operator" if heartbeat(run) else None

    # Written among the stored files: if this agent dies, the reaper keeps it as evidence.
    trace_tmp = partial_trace_path(trace_folder, run.id)
    trace_tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = run_eol(
            kit,
            bus,
            run.sequences,
            on_check=on_check,
            should_abort=should_abort,
            trace_path=trace_tmp,
        )
    except Exception as exc:  # the run must end recorded, whatever broke
        log.exception("EOL run %s failed", run.id)
        db.session.rollback()
        abort_run(run, f"the bench failed: {exc}")
        keep_partial_trace(run, trace_folder)
        db.session.commit()
        return run
    finally:
        bus.shutdown()
    finish_run(run, result, trace_folder)
    db.session.commit()
    if os.path.exists(trace_tmp):
        os.unlink(trace_tmp)
    return run


def run_agent(
    app,
    benches: list[str] | None = None,
    *,
    once: bool = False,
    poll_s: float = 1.0,
    stop: threading.Event | None = None,
) -> int:
    """Serve queued runs for ``benches`` (default: all configured) until stopped.

    Returns the number of runs executed. With ``once``, returns after the first idle poll.
    """
    stop = stop or threading.Event()
    configured = app.config["EOL_BENCHES"]
    names = benches or list(configured)
    unknown = [b for b in names if b not in configured]
    if unknown:
        raise ValueError(
            f"unknown bench(es) {', '.join(unknown)}; configured: {', '.join(configured)}"
        )
    me = agent_name()
    done = 0
    trace_folder = app.config["UPLOAD_FOLDER"]
    while not stop.is_set():
        with app.app_context():
            reap_stale_runs(trace_folder, stale_after=stale_after(app.config))
            db.session.commit()
            run = claim_next_run(me, names)
            if run is not None:
                log.info("bench %s: running EOL run %s", run.bench, run.id)
                execute_run(run, configured[run.bench], trace_folder)
                done += 1
                continue
        if once:
            break
        stop.wait(poll_s)
    return done

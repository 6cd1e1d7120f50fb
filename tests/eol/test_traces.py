"""Run traces: BLF evidence with SHA-256, uploads in four formats, clear errors for bad files."""

import hashlib
import tempfile

import can
import pytest

from workshop.eol.definitions import load_kit
from workshop.eol.engine import Outcome, RunOutcome, run_eol
from workshop.eol.runner import evaluate_trace
from workshop.eol.simbus import SimulatedBus
from workshop.eol.traces import TraceError, TraceRecorder, load_trace

PASSIVE_ECU_BMS = [
    "ecu.heartbeat",
    "ecu.alive_counter",
    "ecu.hvil",
    "ecu.no_faults",
    "bms.pack_voltage",
    "bms.cell_voltage",
    "bms.cell_spread",
    "bms.temperatures",
    "bms.soc",
    "bms.isolation",
    "bms.ac_isolation",
    "bms.balancing",
    "bms.charge_current_limit",
]


def record_run(path, kit_id="jazz-ev1", faults=(), sequences=("ecu", "bms"), **kwargs):
    """Run the engine against the simulator and keep its BLF trace at ``path``."""
    kit = load_kit(kit_id)
    with SimulatedBus(kit, faults=list(faults), **kwargs) as bus:
        return run_eol(kit, bus, list(sequences), trace_path=path)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One healthy ECU+BMS run on jazz-ev1, shared by the tests of this module."""
    path = tmp_path_factory.mktemp("traces") / "run.blf"
    return record_run(path)


def test_run_trace_is_blf_with_its_sha256(recorded):
    trace = recorded.trace
    assert trace.format == "blf" and trace.path.suffix == ".blf"
    assert trace.sha256 == hashlib.sha256(trace.path.read_bytes()).hexdigest()
    assert trace.size_bytes == trace.path.stat().st_size
    frames = load_trace(trace.path)
    assert len(frames) == trace.frames
    sent = [f for f in frames if not f.is_rx]
    assert sent and len(sent) < len(frames)  # the stimuli are evidence too
    assert {f.arbitration_id for f in frames} >= {0x0F0, 0x101, 0x200, 0x210}
    assert all(a.timestamp <= b.timestamp for a, b in zip(frames, frames[1:], strict=False))


def test_recorded_trace_evaluates_offline(recorded):
    kit = load_kit("jazz-ev1")
    result = evaluate_trace(kit, recorded.trace.path)
    by_id = {c.check_id: c for c in result.checks}
    assert {i for i, c in by_id.items() if c.outcome is Outcome.PASS} == set(PASSIVE_ECU_BMS)
    assert by_id["bms.precharge"].outcome is Outcome.SKIPPED
    assert by_id["bms.precharge"].message == "needs a live vehicle (the test sends stimuli)"
    assert result.outcome is RunOutcome.PASS and result.source == "trace:run.blf"
    assert result.trace.sha256 == recorded.trace.sha256


def test_a_paced_run_trace_is_in_vehicle_time_and_evaluates_the_same(tmp_path):
    """The demo's 5x bench once recorded 20 ms heartbeats; traces now carry simulated time."""
    run = record_run(tmp_path / "paced.blf", sequences=["ecu"], speed=20)
    result = evaluate_trace(load_kit("jazz-ev1"), run.trace.path)
    heartbeat = result.result("ecu.heartbeat")
    assert heartbeat.outcome is Outcome.PASS
    period = next(m for m in heartbeat.measurements if m.name == "heartbeat_period")
    assert period.value == pytest.approx(100.0, abs=0.5)
    live = {c.check_id: c.outcome for c in run.checks}
    offline = {c.check_id: c.outcome for c in result.checks if c.check_id in live}
    passive = {k for k, v in offline.items() if v is not Outcome.SKIPPED}
    assert passive >= {"ecu.heartbeat", "ecu.alive_counter", "ecu.hvil", "ecu.no_faults"}
    assert {k: offline[k] for k in passive} == {k: live[k] for k in passive}


def test_fault_in_a_recorded_trace_is_found_offline(tmp_path):
    run = record_run(tmp_path / "iso.blf", faults=["isolation_fault"], sequences=["bms"])
    result = evaluate_trace(load_kit("jazz-ev1"), run.trace.path)
    failed = [c.check_id for c in result.checks if c.outcome is Outcome.FAIL]
    assert failed == ["bms.isolation"]
    assert "20.0 kΩ is below 36.5 kΩ" in result.result("bms.isolation").message


@pytest.mark.parametrize(
    ("suffix", "writer"),
    [
        (".asc", can.ASCWriter),
        (".log", can.CanutilsLogWriter),
        (".trc", can.TRCWriter),
    ],
)
def test_other_formats_load_and_evaluate(recorded, tmp_path, suffix, writer):
    frames = [f for f in load_trace(recorded.trace.path) if f.is_rx]
    path = tmp_path / f"export{suffix}"
    with writer(path) as out:
        for frame in frames:
            frame.channel = 0
            out.on_message_received(frame)
    loaded = load_trace(path)
    assert len(loaded) == len(frames)
    assert [f.arbitration_id for f in loaded[:50]] == [f.arbitration_id for f in frames[:50]]
    result = evaluate_trace(load_kit("jazz-ev1"), path)
    assert result.result("bms.cell_voltage").outcome is Outcome.PASS
    assert result.result("ecu.heartbeat").outcome is Outcome.PASS


def test_explicit_format_overrides_the_extension(recorded, tmp_path):
    path = tmp_path / "upload.bin"
    path.write_bytes(recorded.trace.path.read_bytes())
    assert len(load_trace(path, "blf")) == recorded.trace.frames
    with pytest.raises(TraceError, match="unknown trace format 'mf4'"):
        load_trace(path, "mf4")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.blf"
    path.write_bytes(b"")
    with pytest.raises(TraceError, match=r"the trace file is empty \(0 bytes\)"):
        load_trace(path)


def test_truncated_blf(recorded, tmp_path):
    data = recorded.trace.path.read_bytes()
    path = tmp_path / "cut.blf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceError, match="the BLF file is truncated: its header says"):
        load_trace(path)


def test_corrupt_blf(recorded, tmp_path):
    data = bytearray(recorded.trace.path.read_bytes())
    data[200:400] = bytes(range(200))  # damage the first container
    path = tmp_path / "corrupt.blf"
    path.write_bytes(bytes(data))
    with pytest.raises(TraceError, match="the BLF file is corrupt"):
        load_trace(path)


def test_text_renamed_to_blf(tmp_path):
    path = tmp_path / "notes.blf"
    path.write_text("date Mon Jan 1 00:00:00 2024\nbase hex timestamps absolute\n" * 10)
    with pytest.raises(TraceError, match="not a BLF file"):
        load_trace(path)


def test_binary_renamed_to_asc(recorded, tmp_path):
    path = tmp_path / "trace.asc"
    path.write_bytes(recorded.trace.path.read_bytes())
    with pytest.raises(TraceError, match="binary file, not a Vector ASC text trace"):
        load_trace(path)


@pytest.mark.parametrize("name", ["photo.jpg", "report.pdf", "trace"])
def test_unsupported_extension(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\xff\xd8\xff\xe0 not a trace")
    with pytest.raises(TraceError, match="unsupported trace file type"):
        load_trace(path)


def test_garbage_and_truncated_candump(tmp_path):
    garbage = tmp_path / "garbage.log"
    garbage.write_text("hello world\nthis is not candump\n")
    with pytest.raises(TraceError, match="cannot read this candump log file"):
        load_trace(garbage)
    cut = tmp_path / "cut.log"
    cut.write_text("(1700000000.000000) can0 101#0102\n(1700000000.100000) can0 10")
    with pytest.raises(TraceError, match="candump log"):
        load_trace(cut)


def test_text_without_frames(tmp_path):
    path = tmp_path / "empty.asc"
    path.write_text(
        "date Mon Jan 1 00:00:00.000 am 2024\nbase hex  timestamps absolute\n"
        "internal events logged\nBegin Triggerblock\nEnd TriggerBlock\n"
    )
    with pytest.raises(TraceError, match="no CAN frames found in this Vector ASC file"):
        load_trace(path)


def test_recorder_writes_blf_only(tmp_path, monkeypatch):
    with pytest.raises(TraceError, match="name it \\*.blf"):
        TraceRecorder(tmp_path / "run.asc")
    # Without a path the trace is a new temporary file: here in the test's own folder, so a
    # failing run leaves nothing in /tmp.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    recorder = TraceRecorder()
    recorder.record(can.Message(arbitration_id=0x101, data=b"\x01", timestamp=1.0, channel="can0"))
    info = recorder.close()
    assert info.path.exists() and info.frames == 1 and recorder.close() is info
    assert info.path.parent == tmp_path and info.path.name.startswith("eol-")

"""The vehicle simulator speaks each kit's DBC and its faults are well formed."""

import time
import uuid

import can
import pytest

from workshop.eol.definitions import load_kit
from workshop.eol.engine import CHECKS
from workshop.eol.simulator import FAULTS, VehicleSimulator

KITS = ["jazz-ev1", "vios-ev1", "dmax-ev2"]


def listen(channel, until, timeout=10.0):
    """Frames seen on a virtual channel until ``until(frames)`` is true (or the timeout)."""
    frames = []
    with can.Bus(interface="virtual", channel=channel, receive_own_messages=False) as bus:
        end = time.time() + timeout
        while time.time() < end and not until(frames):
            msg = bus.recv(timeout=0.05)
            if msg is not None:
                frames.append(msg)
    return frames


def count_of(frame_id, n):
    """A stop condition: ``n`` frames with this id have arrived."""
    return lambda frames: sum(f.arbitration_id == frame_id for f in frames) >= n


def test_every_fault_names_an_existing_check_and_is_bilingual():
    assert len(FAULTS) >= 11
    for name, fault in FAULTS.items():
        assert fault.name == name
        assert fault.check_id in CHECKS, name
        assert fault.sequence == CHECKS[fault.check_id].sequence
        assert fault.title_en and fault.title_th and fault.description_en and fault.description_th
    required = {
        "cell_overvoltage",
        "cell_undervoltage",
        "over_temperature",
        "isolation_fault",
        "precharge_failure",
        "stuck_contactor",
        "vacuum_leak",
        "dead_pump",
        "lost_heartbeat",
        "ignored_drive_mode",
        "silent_bms_alarm",
    }
    assert required <= set(FAULTS)


@pytest.mark.parametrize("kit_id", KITS)
def test_simulator_sends_every_vehicle_message_decodably(kit_id):
    kit = load_kit(kit_id)
    channel = f"sim-{uuid.uuid4().hex}"
    db = kit.database
    expected = {m.frame_id for m in db.messages if not kit.is_tester_message(m)}
    with VehicleSimulator(kit, channel=channel, time_scale=20) as sim:
        frames = listen(
            channel, lambda seen: {f.arbitration_id for f in seen} >= expected and len(seen) > 400
        )
        assert sim.running and sim.error is None
    assert not sim.running
    assert {f.arbitration_id for f in frames} == expected
    pages = set()
    for frame in frames:
        message = db.get_message_by_frame_id(frame.arbitration_id)
        assert message.is_extended_frame == frame.is_extended_id
        decoded = message.decode(frame.data)
        if message.name == "BMU_CellVoltages":
            pages.add(decoded["BMU_CellPage"])
    if kit_id == "dmax-ev2":
        assert pages == set(range(34))  # every multiplexed page of 3 cells


def test_frames_carry_vehicle_time_stamps():
    kit = load_kit("jazz-ev1")
    channel = f"sim-{uuid.uuid4().hex}"
    heartbeat = kit.binding("ecu_heartbeat").message.frame_id
    with VehicleSimulator(kit, channel=channel, time_scale=20):
        frames = listen(channel, count_of(heartbeat, 5))
        stamps = [f.timestamp for f in frames if f.arbitration_id == heartbeat]
    periods = [(b - a) * 20 for a, b in zip(stamps, stamps[1:], strict=False)]
    assert periods and all(p == pytest.approx(0.1, abs=1e-4) for p in periods)


def test_seeded_cells_are_reproducible_and_healthy():
    kit = load_kit("jazz-ev1")
    a = VehicleSimulator(kit, channel="unused-a", seed=7)._vehicle.cells
    b = VehicleSimulator(kit, channel="unused-b", seed=7)._vehicle.cells
    c = VehicleSimulator(kit, channel="unused-c", seed=8)._vehicle.cells
    assert a == b != c
    assert len(a) == 100 and max(a) - min(a) < 0.050


def test_faults_can_be_injected_while_running():
    kit = load_kit("jazz-ev1")
    channel = f"sim-{uuid.uuid4().hex}"
    iso = kit.binding("isolation_resistance")

    def isolation_ohm(frames):
        values = [
            iso.to_engine(iso.message.decode(f.data)[iso.signal.name])
            for f in frames
            if f.arbitration_id == iso.message.frame_id
        ]
        return values[-1]

    with VehicleSimulator(kit, channel=channel, time_scale=20) as sim:
        assert isolation_ohm(listen(channel, count_of(iso.message.frame_id, 2))) > 1e6
        sim.inject("isolation_fault")
        assert isolation_ohm(listen(channel, count_of(iso.message.frame_id, 2))) == pytest.approx(
            20_000
        )
        sim.clear("isolation_fault")
        assert sim.faults == frozenset()


def test_bad_arguments_are_refused():
    kit = load_kit("jazz-ev1")
    with pytest.raises(ValueError, match="unknown fault.*no_such_fault"):
        VehicleSimulator(kit, channel="x", faults=["no_such_fault"])
    with pytest.raises(ValueError, match="bus or a channel"):
        VehicleSimulator(kit)
    with pytest.raises(ValueError, match="time_scale"):
        VehicleSimulator(kit, channel="x", time_scale=0)

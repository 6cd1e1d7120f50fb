"""The vehicle simulator speaks each kit's DBC and its faults are well formed."""

import time
import uuid

import can
import pytest

from workshop.eol.definitions import load_kit
from workshop.eol.engine import CHECKS
from workshop.eol.faults import FAULTS
from workshop.eol.simbus import SimulatedBus, VehicleSimulator

KITS = ["jazz-ev1", "vios-ev1", "dmax-ev2", "dmax-ev2-vendor"]


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


def sim_frames(bus, until, limit=20_000):
    """Frames a simulated bus delivers until ``until(frames)`` is true (simulated time only)."""
    frames = []
    while not until(frames) and len(frames) < limit:
        msg = bus.recv(timeout=1.0)
        if msg is not None:
            frames.append(msg)
    return frames


@pytest.mark.parametrize("kit_id", KITS)
def test_simulator_sends_every_vehicle_message_decodably(kit_id):
    kit = load_kit(kit_id)
    db = kit.database
    expected = {m.frame_id for m in db.messages if not kit.is_tester_message(m)}
    with SimulatedBus(kit) as bus:
        frames = sim_frames(
            bus, lambda seen: {f.arbitration_id for f in seen} >= expected and len(seen) > 400
        )
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


def test_recv_advances_the_simulated_clock_to_each_frame():
    kit = load_kit("jazz-ev1")
    heartbeat = kit.binding("ecu_heartbeat").message.frame_id
    with SimulatedBus(kit) as bus:
        frames = sim_frames(bus, count_of(heartbeat, 5))
        assert all(a.timestamp <= b.timestamp for a, b in zip(frames, frames[1:], strict=False))
        assert bus.clock.now() == frames[-1].timestamp
        stamps = [f.timestamp for f in frames if f.arbitration_id == heartbeat]
        assert [round(b - a, 6) for a, b in zip(stamps, stamps[1:], strict=False)] == [0.1] * 4
        # nothing due within the timeout: the clock moves by exactly the timeout
        before = bus.clock.now()
        while bus.recv(timeout=0) is not None:
            pass
        assert bus.recv(timeout=0.0001) is None
        assert bus.clock.now() == pytest.approx(before + 0.0001)


def test_send_reaches_the_vehicle_at_the_current_simulated_time():
    kit = load_kit("jazz-ev1")
    key = kit.binding("key_switch")
    state = kit.binding("vehicle_state")
    with SimulatedBus(kit) as bus:
        sim_frames(bus, lambda frames: bus.clock.now() >= 1.0)
        data = {s.name: 0 for s in key.message.signals}
        data[key.signal.name] = next(iter(key.states["on"]))
        if kit.has("eol_session"):
            session = kit.binding("eol_session")
            if session.message is key.message:
                data[session.signal.name] = session.to_dbc(True)
        bus.send(
            can.Message(
                arbitration_id=key.message.frame_id,
                is_extended_id=key.message.is_extended_frame,
                data=key.message.encode(data, strict=False),
            )
        )
        assert bus.model.vehicle.cmd["key_switch"] == "on"
        assert bus.model.vehicle.t == pytest.approx(bus.clock.now())
        ready = sim_frames(
            bus,
            lambda frames: any(
                f.arbitration_id == state.message.frame_id
                and state.to_engine(
                    state.message.decode(f.data, decode_choices=False)[state.signal.name]
                )
                in state.states["ready"]
                for f in frames
            ),
        )
        assert 1.0 < ready[-1].timestamp < 5.0  # precharge takes vehicle time, not wall time


def test_threaded_simulator_serves_a_real_interface_with_vehicle_time_stamps():
    """``workshop eol simulate`` puts the same model on a virtual (or real) interface."""
    kit = load_kit("jazz-ev1")
    channel = f"sim-{uuid.uuid4().hex}"
    heartbeat = kit.binding("ecu_heartbeat").message.frame_id
    with VehicleSimulator(kit, channel=channel, time_scale=20) as sim:
        frames = listen(channel, count_of(heartbeat, 5))
        assert sim.running and sim.error is None
        stamps = [f.timestamp for f in frames if f.arbitration_id == heartbeat]
    assert not sim.running
    periods = [(b - a) * 20 for a, b in zip(stamps, stamps[1:], strict=False)]
    assert periods and all(p == pytest.approx(0.1, abs=1e-4) for p in periods)


def test_seeded_cells_are_reproducible_and_healthy():
    kit = load_kit("jazz-ev1")
    a = SimulatedBus(kit, seed=7).model.vehicle.cells
    b = SimulatedBus(kit, seed=7).model.vehicle.cells
    c = SimulatedBus(kit, seed=8).model.vehicle.cells
    assert a == b != c
    assert len(a) == 100 and max(a) - min(a) < 0.050


def test_faults_can_be_injected_while_running():
    kit = load_kit("jazz-ev1")
    iso = kit.binding("isolation_resistance")

    def isolation_ohm(frames):
        values = [
            iso.to_engine(iso.message.decode(f.data)[iso.signal.name])
            for f in frames
            if f.arbitration_id == iso.message.frame_id
        ]
        return values[-1]

    with SimulatedBus(kit) as bus:
        assert isolation_ohm(sim_frames(bus, count_of(iso.message.frame_id, 2))) > 1e6
        bus.model.inject("isolation_fault")
        assert isolation_ohm(sim_frames(bus, count_of(iso.message.frame_id, 2))) == pytest.approx(
            20_000
        )
        bus.model.clear("isolation_fault")
        assert bus.model.faults == frozenset()


def test_bad_arguments_are_refused():
    kit = load_kit("jazz-ev1")
    with pytest.raises(ValueError, match="unknown fault.*no_such_fault"):
        VehicleSimulator(kit, channel="x", faults=["no_such_fault"])
    with pytest.raises(ValueError, match="bus or a channel"):
        VehicleSimulator(kit)
    with pytest.raises(ValueError, match="time_scale"):
        VehicleSimulator(kit, channel="x", time_scale=0)

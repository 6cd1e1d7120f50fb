"""Values on request: UDS ReadDataByIdentifier over ISO-TP between the tester and the simulated
BMS (both on the simulated clock), what a silent, refusing or garbling server makes the tester
say, kits check's rules for [uds] and [requests], and the vendor-style example kit."""

import shutil
import uuid

import can
import pytest
from click.testing import CliRunner

from workshop.eol import tester as eol_tester
from workshop.eol.bindings import UdsBinding
from workshop.eol.definitions import EolDefinitionError, kit_specs_root, load_kit
from workshop.eol.engine import Outcome, run_eol
from workshop.eol.faults import applicable_faults
from workshop.eol.messages import render
from workshop.eol.runner import evaluate_trace
from workshop.eol.simbus import SimulatedBus
from workshop.eol.uds import P2_STAR_S, RESPONSE_PENDING, UdsPoller
from workshop.kits.commands import kits as kits_cli

KIT = "dmax-ev2-vendor"
# a generous bound for a frame to cross the virtual bus: never a verdict on speed
PATIENCE_S = 30
DID = 0x4A01


@pytest.fixture(scope="module")
def kit():
    return load_kit(KIT)


def run(kit, tmp_path, bus=None, check_ids=("bms.cell_voltage",), **bus_kwargs):
    trace = tmp_path / f"uds-{uuid.uuid4().hex}.blf"
    with bus or SimulatedBus(kit, **bus_kwargs) as live:
        return run_eol(kit, live, ["bms"], check_ids=check_ids, trace_path=trace), trace


def test_cell_voltages_come_only_by_uds(kit):
    cells = kit.indexed("cell_voltage")
    assert len(cells) == 100 and all(isinstance(c, UdsBinding) for c in cells)
    assert not kit.has("cell_voltage_min") and not kit.has("cell_voltage_max")
    volts = {s.name for m in kit.database.messages for s in m.signals if s.unit in ("V", "mV")}
    assert volts == {"BMS_PackU", "BMS_LinkU", "VCU2_DcDcVolt"}  # no cell voltage broadcast
    assert cells[36].label == "UDS 0x7E4 DID 0x4A01" and cells[36].point.slot == 36


def test_round_trip_reads_every_cell_from_the_simulated_bms(kit):
    with SimulatedBus(kit, seed=5) as bus:
        tester = eol_tester.Tester(kit, bus=bus)
        values = tester.collect_indexed("cell_voltage", 3.0)
        truth = bus.model.vehicle.cells
        assert values == pytest.approx(truth, abs=0.00051)  # mV resolution
        assert bus.uds.requests == 1 and tester.uds.answers == 1
        # 2 + 1 + 200 bytes: a first frame, 29 consecutive frames and our flow control
        t_first = tester.now()
        tester.sleep(2.05)
        assert bus.uds.requests == 3  # every period_s (1 s), on the simulated clock
        assert tester.now() == pytest.approx(t_first + 2.05)
        assert tester.uds.problems == {}


def test_the_trace_holds_the_exchange_and_checks_offline(kit, tmp_path):
    result, trace = run(kit, tmp_path, seed=9)
    assert result.result("bms.cell_voltage").outcome is Outcome.PASS
    frames = list(can.BLFReader(str(trace)))
    requests = [f for f in frames if f.arbitration_id == 0x7E4]
    answers = [f for f in frames if f.arbitration_id == 0x7EC]
    assert requests[0].data[:4] == bytes([0x03, 0x22, 0x4A, 0x01])  # SF: RDBI DID 0x4A01
    assert requests[1].data[0] == 0x30  # our flow control: continue, no block limit, no STmin
    assert answers[0].data[:5] == bytes([0x10, 203, 0x62, 0x4A, 0x01])  # FF: 203 bytes
    assert len(answers) % 30 == 0  # 1 first frame + 29 consecutive frames per answer
    # offline the tester only listens, and reads the same cells from the recorded answers
    offline = evaluate_trace(kit, trace)
    cells = offline.result("bms.cell_voltage")
    assert cells.outcome is Outcome.PASS, cells.message
    assert cells.series["cell_voltage"] == result.result("bms.cell_voltage").series["cell_voltage"]


@pytest.mark.parametrize(
    ("misbehave", "expected"),
    [
        (
            lambda uds: uds.silent.add(DID),
            "no answer to the diagnostic request for DID 0x4A01 (request ID 0x7E4) within 0.5 s",
        ),
        (
            lambda uds: uds.refused.update({DID: 0x22}),
            "the diagnostic request for DID 0x4A01 (request ID 0x7E4) "
            "was refused: negative response 0x22 (ConditionsNotCorrect)",
        ),
        (
            lambda uds: uds.truncated.add(DID),
            "the answer for DID 0x4A01 (request ID 0x7E4) holds 100 "
            "bytes where the kit's eol.toml expects 200",
        ),
    ],
    ids=["silent", "refused", "truncated"],
)
def test_a_misbehaving_server_gets_a_clear_message(kit, tmp_path, misbehave, expected):
    bus = SimulatedBus(kit)
    misbehave(bus.uds)
    result, _ = run(kit, tmp_path, bus=bus)
    check = result.result("bms.cell_voltage")
    assert check.outcome is Outcome.FAIL
    assert check.message.startswith("no reading for cells 1") and check.message.endswith(
        ": " + expected
    ), check.message
    assert "Traceback" not in check.message
    assert check.message_code == "missing_cells_uds"


def test_thai_message_for_a_silent_bms(kit, tmp_path):
    bus = SimulatedBus(kit)
    bus.uds.silent.add(DID)
    result, _ = run(kit, tmp_path, bus=bus)
    check = result.result("bms.cell_voltage")
    thai = render(check.message_code, check.message_params, "th")
    assert "0x4A01" in thai and thai != render(check.message_code, check.message_params, "en")
    assert any("\u0e00" <= c <= "\u0e7f" for c in thai)


def test_the_server_refuses_an_unknown_did_and_another_service(kit):
    bus = SimulatedBus(kit)
    for payload, answer in (
        (bytes([0x03, 0x22, 0x12, 0x34]), bytes([0x03, 0x7F, 0x22, 0x31])),  # RequestOutOfRange
        (bytes([0x02, 0x10, 0x03]), bytes([0x03, 0x7F, 0x10, 0x11])),  # ServiceNotSupported
        (bytes([0x02, 0x22, 0x4A]), bytes([0x03, 0x7F, 0x22, 0x13])),  # bad length
    ):
        frames = bus.uds.handle(
            can.Message(arbitration_id=0x7E4, is_extended_id=False, data=payload), 1.0
        )
        assert [bytes(f.data[:4]) for f in frames] == [answer]
        assert frames[0].arbitration_id == 0x7EC and frames[0].timestamp == pytest.approx(1.005)
    bus.shutdown()


def test_same_seed_same_run(kit, tmp_path):
    first, _ = run(kit, tmp_path, seed=11, faults=["cell_overvoltage"])
    again, _ = run(kit, tmp_path, seed=11, faults=["cell_overvoltage"])
    other, _ = run(kit, tmp_path, seed=12, faults=["cell_overvoltage"])
    one, two = first.result("bms.cell_voltage"), again.result("bms.cell_voltage")
    assert one.series == two.series and one.message == two.message
    assert first.trace.sha256 == again.trace.sha256 != other.trace.sha256
    assert "cell 37 at 3.72 V is above 3.65 V" in one.message


def test_the_kit_offers_every_fault_it_can_reveal(kit):
    """Every fault maps on this kit; the cell faults act on cell_voltage[n], read only by UDS."""
    offered = applicable_faults(kit)
    assert {"cell_overvoltage", "cell_undervoltage", "cell_imbalance"} <= set(offered)


# -- kits check ------------------------------------------------------------------------------


@pytest.fixture
def kit_copy(tmp_path):
    folder = tmp_path / "kits" / KIT
    shutil.copytree(kit_specs_root() / KIT, folder)
    return folder


def _edit(folder, old, new):
    path = folder / "eol.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


REQUEST = (
    'cell_voltage = { server = "bms", did = 0x4A01, count = 100, per_did = 100, '
    'type = "uint16", byte_order = "big", scale = 0.001, period_s = 1.0, timeout_s = 0.5 }'
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "response_id = 0x7EC",
            "response_id = 0x110",
            "uds.bms: the response ID 0x110 is the DBC frame VCU2_Alive",
        ),
        ("request_id = 0x7E4", "request_id = 0x18DA40F1", "does not fit an 11-bit identifier"),
        ("response_id = 0x7EC", "response_id = 0x7E4", "request_id and response_id must differ"),
        ('server = "bms"', 'server = "bmu"', "requests.cell_voltage: server: no [uds.bmu] table"),
        (
            "did = 0x4A01, count = 100, per_did = 100",
            "did = 0xFFD0, count = 100, per_did = 1",
            "requests.cell_voltage: did: 100 DIDs from 0xFFD0 run past 0xFFFF",
        ),
        ("did = 0x4A01", "did = 0x1FFFF", "requests.cell_voltage.did"),
        (
            "scale = 0.001",
            "scale = 0.00001",
            "requests.cell_voltage: scale/offset: uint16 x 1e-05 + 0 reads 0..0.65535 V, which "
            "cannot show the limits 2.5..3.65 V",
        ),
        ("scale = 0.001", "scale = 0", "scale must be a finite number other than 0"),
        ("per_did = 100", "per_did = 30", "100 values do not fill DIDs of 30 evenly"),
        ("timeout_s = 0.5", "timeout_s = 1.5", "timeout_s 1.5 must be shorter than period_s 1"),
        ('type = "uint16"', 'type = "float16"', "requests.cell_voltage.type"),
        (
            "count = 100, per_did = 100",
            "count = 96, per_did = 96",
            "96 cells read, but kit.toml's battery has 100 cells",
        ),
        (
            REQUEST,
            REQUEST + '\ncell_voltage_min = { server = "bms", did = 0x4A01 }',
            "requests.cell_voltage_min: did: DID 0x4A01 of server 'bms' is already read for cell_voltage",
        ),
        (
            REQUEST,
            REQUEST + '\nvehicle_state = { server = "bms", did = 0x4A10 }',
            "requests.vehicle_state: only measured vehicle values can be read on request",
        ),
        (
            REQUEST,
            REQUEST + '\npack_voltage = { server = "bms", did = 0x4A10, scale = 0.1 }',
            "requests.pack_voltage: also mapped under [signals]",
        ),
    ],
)
def test_kits_check_refuses_bad_uds_data(kit_copy, old, new, expected):
    _edit(kit_copy, old, new)
    result = CliRunner().invoke(kits_cli, ["check", str(kit_copy)])
    assert result.exit_code == 1, result.output
    assert expected in result.output, result.output
    assert f"{KIT}/eol.toml" in result.output
    assert "Traceback" not in result.output


def test_an_unmapped_server_name_in_requests_does_not_half_load(kit_copy):
    _edit(kit_copy, "[uds.bms]", "[uds.bmu]")
    with pytest.raises(EolDefinitionError) as refused:
        load_kit(kit_copy)
    assert any("server: no [uds.bms] table (servers: bmu)" in p for p in refused.value.problems)


def test_normal_fixed_addressing_round_trip(kit_copy, tmp_path):
    """J1939-style 29-bit addressing: 0x18DA<target><source>, derived from the two addresses."""
    _edit(
        kit_copy,
        "request_id = 0x7E4\nresponse_id = 0x7EC",
        'addressing = "normal_fixed"\ntarget_address = 0xE5\nsource_address = 0xF1',
    )
    kit = load_kit(kit_copy)
    assert kit.indexed("cell_voltage")[0].label == "UDS 0x18DAE5F1 DID 0x4A01"
    result, trace = run(kit, tmp_path)
    assert result.result("bms.cell_voltage").outcome is Outcome.PASS
    ids = {f.arbitration_id for f in can.BLFReader(str(trace))}
    assert {0x18DAE5F1, 0x18DAF1E5} <= ids


def test_the_wall_clock_simulator_answers_on_a_virtual_bus(kit, tmp_path):
    """A development bay: the simulated car on the far end of python-can's virtual bus (another
    thread, wall clock at 10 vehicle seconds per second) answers the same requests."""
    from workshop.eol.simbus import VehicleSimulator

    channel = f"uds-{uuid.uuid4().hex}"
    with (
        can.Bus(interface="virtual", channel=channel) as bus,
        VehicleSimulator(kit, channel=channel, time_scale=10) as sim,
    ):
        result = run_eol(
            kit,
            bus,
            ["bms"],
            time_scale=10,
            check_ids=["bms.cell_voltage"],
            trace_path=tmp_path / "bay.blf",
        )
    assert sim.error is None and sim.uds.requests >= 1
    check = result.result("bms.cell_voltage")
    assert check.outcome is Outcome.PASS, check.message
    assert check.series["cell_voltage"] == pytest.approx(sim.model.vehicle.cells, abs=0.00051)


def test_response_pending_waits_for_the_late_answer(kit, tmp_path):
    """NRC 0x78 ("response pending") is no refusal: the answer 2 s later (past timeout_s, within
    P2* = 5 s) is read."""
    bus = SimulatedBus(kit)
    bus.uds.pending[DID] = 2.0
    result, trace = run(kit, tmp_path, bus=bus)
    check = result.result("bms.cell_voltage")
    assert check.outcome is Outcome.PASS, check.message
    frames = list(can.BLFReader(str(trace)))
    answers = [f for f in frames if f.arbitration_id == 0x7EC]
    assert bytes(answers[0].data[:4]) == bytes([0x03, 0x7F, 0x22, 0x78])
    assert answers[1].data[0] == 0x10 and answers[1].timestamp - answers[0].timestamp > 1.9
    # the tester waited for it: no second request went out meanwhile (one at a time per server)
    asked = [f for f in frames if f.arbitration_id == 0x7E4 and f.data[1] == 0x22]
    assert [f.timestamp < answers[1].timestamp for f in asked].count(True) == 1


def test_no_answer_after_response_pending_quotes_the_p2_star_wait(kit):
    """After "response pending" (NRC 0x78) the tester waits P2* (5 s), not the DID's 0.5 s, and
    the message quotes the wait it actually gave. Real ISO-TP frames on python-can's virtual bus,
    a hand-driven BMS on the other end; the tester's clock is stepped, so nothing waits."""
    channel = f"uds-pending-{uuid.uuid4().hex}"
    now = 0.0
    with (
        can.Bus(interface="virtual", channel=channel, receive_own_messages=False) as tester_bus,
        can.Bus(interface="virtual", channel=channel) as bms,
    ):
        poller = UdsPoller(kit, lambda: now, tester_bus.send)
        poller.poll(now)
        request = bms.recv(timeout=PATIENCE_S)
        assert request.arbitration_id == 0x7E4
        assert bytes(request.data[:4]) == bytes([0x03, 0x22, 0x4A, 0x01])  # SF: RDBI 0x4A01
        pending = [0x03, 0x7F, 0x22, RESPONSE_PENDING, 0xAA, 0xAA, 0xAA, 0xAA]
        bms.send(can.Message(arbitration_id=0x7EC, is_extended_id=False, data=pending))
        frame = tester_bus.recv(timeout=PATIENCE_S)
        now = 0.1
        assert poller.receive(poller.owner(frame), frame, now) == []
        # Past the DID's timeout_s and its next period, within P2*: still waiting, nothing new
        # asked (one request at a time per server), no problem noted.
        now = 0.1 + P2_STAR_S - 0.01
        poller.poll(now)
        assert poller.problems == {} and bms.recv(timeout=0) is None
        now = 0.1 + P2_STAR_S
        poller.poll(now)
        (problem,) = poller.problems.values()
        assert problem["code"] == "uds_no_answer" and problem["params"]["timeout"] == "5"
        assert render(problem["code"], problem["params"], "en") == (
            "no answer to the diagnostic request for DID 0x4A01 (request ID 0x7E4) within 5 s"
        )
        assert "5" in render(problem["code"], problem["params"], "th")
        # the request is given up: the next one goes out on the bus
        assert bytes(bms.recv(timeout=PATIENCE_S).data[:4]) == bytes([0x03, 0x22, 0x4A, 0x01])


def test_a_did_per_cell_with_a_header_byte_little_endian(kit_copy, tmp_path):
    """per_did = 1: DIDs 0x4B00..0x4B63, one cell each, after a status byte, little-endian."""
    _edit(
        kit_copy,
        'did = 0x4A01, count = 100, per_did = 100, type = "uint16", byte_order = "big"',
        'did = 0x4B00, count = 100, per_did = 1, start_byte = 1, type = "uint16", '
        'byte_order = "little"',
    )
    kit = load_kit(kit_copy)
    cells = kit.indexed("cell_voltage")
    assert (cells[0].point.did, cells[99].point.did, cells[99].point.record_length) == (
        0x4B00,
        0x4B63,
        3,
    )
    with SimulatedBus(kit, seed=4) as bus:
        result = run_eol(
            kit, bus, ["bms"], check_ids=["bms.cell_voltage"], trace_path=tmp_path / "r.blf"
        )
        truth = bus.model.vehicle.cells
        assert bus.uds.requests >= 100
    check = result.result("bms.cell_voltage")
    assert check.outcome is Outcome.PASS, check.message
    assert check.series["cell_voltage"] == pytest.approx(truth, abs=0.00051)

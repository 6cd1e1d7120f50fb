"""EOL engine throughput and run overhead.

1. Decode + record: how many frames per second the engine turns into semantic values and writes
   to the BLF evidence trace, against the ~4,000 frames/s of a heavily loaded 500 kbit/s bus.
2. A full ECU + BMS + brakes run against the simulator, checks one after another and then side
   by side (independent checks overlap: the brakes' vacuum chain runs while the ECU and BMS are
   tested): the side-by-side run's vehicle seconds against the serial run's, which is the serial
   sum of the checks' physical waits (observation windows, the 30 s leak hold, precharge, vacuum
   build-up, pedal strokes...) plus the engine's own overhead. Target: <= 0.7.
3. Per kit, the wall time of a full simulated run (the simulated clock needs no wall-clock wait,
   so this is CPU time: it is what a saturated host stretches).

    PYTHONPATH=. python benchmarks/eol_throughput.py [--kit jazz-ev1] [--seed 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import can

from workshop.eol.definitions import list_kits, load_kit
from workshop.eol.engine import Tester, run_eol
from workshop.eol.simbus import SimulatedBus
from workshop.eol.traces import TraceRecorder

LOADED_BUS_FPS = 4_000  # 500 kbit/s, ~125-bit frames, ~100 % load


def capture(kit, frames_wanted: int) -> list[can.Message]:
    """Frames the simulator sends, read from its simulated bus."""
    frames: list[can.Message] = []
    with SimulatedBus(kit) as bus:
        while len(frames) < frames_wanted:
            msg = bus.recv(timeout=1.0)
            if msg is not None:
                frames.append(msg)
    return frames


def decode_and_record(kit, frames: list[can.Message], repeat: int) -> tuple[float, float, float]:
    """Frames per second for decode only, record only, and both (best of ``repeat``)."""
    tester = Tester(kit, frames=frames[:1])
    best = [0.0, 0.0, 0.0]
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(repeat):
            for slot, (decode, record) in enumerate([(True, False), (False, True), (True, True)]):
                recorder = TraceRecorder(Path(tmp) / f"b{attempt}{slot}.blf")
                start = time.perf_counter()
                for msg in frames:
                    if decode:
                        tester.process(msg)
                    if record:
                        recorder.record(msg)
                recorder.close()
                elapsed = time.perf_counter() - start
                best[slot] = max(best[slot], len(frames) / elapsed)
    return best[0], best[1], best[2]


def physical_floor(kit, result) -> float:
    """Vehicle seconds of waiting a run cannot avoid: windows, holds and measured responses."""
    lim = kit.limits
    windows = {
        "ecu.heartbeat": lim.ecu.heartbeat_window_s,
        "ecu.alive_counter": lim.ecu.alive_counter_window_s,
        "bms.pack_voltage": lim.bms.observe_s,
        "bms.isolation": lim.bms.observe_s,
        "brakes.vacuum_hold": lim.brakes.leak_window_s,
        "brakes.vacuum_recovery": lim.brakes.full_press_s,
    }
    floor = 0.0
    for check in result.checks:
        floor += windows.get(check.check_id, 0.0)
        for m in check.measurements:
            if m.unit == "s" and isinstance(m.value, (int, float)):
                floor += m.value
            if m.name == "vent_strokes":
                floor += 2 * lim.brakes.vent_stroke_s * m.value
    return floor


def full_run(kit, seed: int, side_by_side: bool = True):
    """Wall time, vehicle time and result of a full run against the healthy simulator."""
    kit.run.side_by_side = side_by_side
    with tempfile.TemporaryDirectory() as tmp, SimulatedBus(kit, seed=seed) as bus:
        start = time.perf_counter()
        result = run_eol(kit, bus, trace_path=Path(tmp) / "run.blf")
        wall = time.perf_counter() - start
        vehicle = bus.clock.now()
    return wall, vehicle, result


def main() -> None:
    """Run both benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", default="jazz-ev1")
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    kit = load_kit(args.kit)

    frames = capture(kit, args.frames)
    decode, record, both = decode_and_record(kit, frames, args.repeat)
    print(f"kit {kit.kit_id}: {len(frames):,} captured frames")
    print(
        f"  decode only      {decode:>9,.0f} frames/s = {decode / LOADED_BUS_FPS:5.1f} x a loaded bus"
    )
    print(
        f"  record (BLF)     {record:>9,.0f} frames/s = {record / LOADED_BUS_FPS:5.1f} x a loaded bus"
    )
    print(
        f"  decode + record  {both:>9,.0f} frames/s = {both / LOADED_BUS_FPS:5.1f} x a loaded bus "
        f"({LOADED_BUS_FPS:,} frames/s at 500 kbit/s)"
    )

    _, serial, serial_result = full_run(kit, args.seed, side_by_side=False)
    wall, vehicle, result = full_run(kit, args.seed)
    checks = sum(c.vehicle_duration_s for c in serial_result.checks)
    floor = physical_floor(kit, serial_result)
    print(
        f"full ECU+BMS+brakes run: {result.outcome.value}, {len(result.checks)} checks, "
        f"{result.trace.frames:,} frames"
    )
    print(
        f"  one after another: {serial:.1f} vehicle s ({checks:.1f} s inside the checks, of which "
        f"{floor:.1f} s are the windows and measured responses counted here)"
    )
    print(
        f"  side by side:      {vehicle:.1f} vehicle s; "
        f"ratio {vehicle / serial:.2f} of the serial run (target <= 0.7)"
    )
    print("simulated full run, wall time per kit (simulated clock, no wall-clock waits):")
    for kit_id in list_kits():
        other = load_kit(kit_id)
        wall, vehicle, result = full_run(other, args.seed)
        print(
            f"  {kit_id:<10} {result.outcome.value:<5} {wall:6.2f} s wall for {vehicle:5.1f} "
            f"vehicle s ({vehicle / wall:,.0f}x real time)"
        )


if __name__ == "__main__":
    main()

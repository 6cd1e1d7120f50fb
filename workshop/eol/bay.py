"""The development bay bench: a python-can ``virtual`` bus with the simulated car on its far end.

A workshop's bay bench is a CAN adapter on a real car. Where there is no car (the demo, a
developer's machine), a bay bench may be configured with ``interface = "virtual"``: the bench
agent then opens a real python-can virtual bus, and the simulated vehicle answers on the other
end of that channel. Every frame crosses python-can's virtual interface as on any bus; the car
and the tester share the simulated clock of :class:`~workshop.eol.simbus.SimulatedBus`, so the
verdict never depends on how busy the computer is. Runs on such a bench are evidence only
outside production, and certificates resting on them carry the development mark.
"""

from __future__ import annotations

from typing import Any

import can

from workshop.eol.definitions import KitDefinition
from workshop.eol.simbus import SimulatedBus


class VirtualBayBus(SimulatedBus):
    """The tester's end of a python-can virtual channel; the simulated car holds the other end."""

    def __init__(self, kit: KitDefinition, *, channel: str, seed: int = 1, **kwargs: Any):
        super().__init__(kit, faults=(), seed=seed, speed=0.0, channel=channel, **kwargs)
        # Both ends keep the timestamps they are given: the car's frames carry simulated time.
        self.tester_end = can.Bus(interface="virtual", channel=channel, preserve_timestamps=True)
        self.car_end = can.Bus(interface="virtual", channel=channel, preserve_timestamps=True)
        self.channel_info = f"virtual {channel} (simulated car of {kit.kit_id})"

    def recv(self, timeout: float | None = None) -> can.Message | None:
        """The car's next frame, sent by the car's end and received on the tester's end."""
        frame = super().recv(timeout)
        if frame is None:
            return None
        self.car_end.send(frame)
        return self.tester_end.recv(timeout=1.0)

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        """The tester's frame crosses the channel; the car handles it at the simulated time."""
        msg.timestamp = self.clock.t
        self.tester_end.send(msg)
        received = self.car_end.recv(timeout=1.0)
        if received is not None:
            self.model.handle(received, self.clock.t)

    def shutdown(self) -> None:
        """Close both ends of the channel."""
        self.tester_end.shutdown()
        self.car_end.shutdown()
        super().shutdown()

"""The ECU checks still written as code: fault codes, READY, drive modes, torque (the heartbeat,
alive counter and HVIL are rows of the declared check table, ``checks.toml``)."""

from __future__ import annotations

import logging

from workshop.eol.checkaids import _ensure_ready, _latest
from workshop.eol.messages import message as say
from workshop.eol.records import (
    Report,
    _check,
)
from workshop.eol.tester import Tester

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# ECU sequence
# --------------------------------------------------------------------------------------------


@_check(
    "ecu.torque_response",
    "Inverter answers a torque request",
    "อินเวอร์เตอร์ตอบสนองคำสั่งแรงบิด",
    needs=("torque_command", "torque_feedback", "vehicle_state", "key_switch"),
    depends_on=("ecu.ready",),
)
def check_torque_response(ctx: Tester, r: Report) -> None:
    """A torque request is followed by matching inverter feedback within the limit."""
    lim = ctx.limits.ecu
    _ensure_ready(ctx)
    target, tol, limit = lim.torque_test_nm, lim.torque_tolerance_nm, lim.torque_feedback_within_s
    conditions = {"torque_feedback": lambda v: abs(v - target) <= tol}
    if ctx.kit.has("torque_request"):
        conditions["torque_request"] = lambda v: abs(v - target) <= tol
    trail: dict[str, list] = {"torque_feedback": []}
    t = ctx.command(torque_command=target)
    hits = ctx.wait_all(conditions, limit, since=t, record=trail)
    r.series["torque_feedback"] = trail["torque_feedback"]
    feedback = hits.get("torque_feedback")
    if feedback is None:
        if "torque_request" in conditions and "torque_request" not in hits:
            b = ctx.kit.binding("torque_request")
            said = say(
                "torque_not_passed",
                target=f"{target:g}",
                source=b.label,
                value=f"{_latest(ctx, 'torque_request') or 0:.1f}",
                limit=f"{limit:g}",
            )
        else:
            said = say(
                "torque_no_feedback",
                value=f"{_latest(ctx, 'torque_feedback') or 0:.1f}",
                limit=f"{limit:g}",
                target=f"{target:g}",
                tolerance=f"{tol:g}",
            )
        r.measure("torque_response_time", None, "s", high=limit, fail=said)
    else:
        r.measure("torque_response_time", feedback.t - t, "s", high=limit)
        r.measure("torque_feedback", feedback.value, "Nm", target - tol, target + tol, digits=1)
    t = ctx.command(torque_command=0.0)
    back = ctx.wait_for("torque_feedback", lambda v: abs(v) <= tol, 2 * limit, since=t)
    if back is None and feedback is not None:
        r.fail(
            "torque_stays",
            value=f"{_latest(ctx, 'torque_feedback'):.1f}",
            limit=f"{2 * limit:g}",
        )

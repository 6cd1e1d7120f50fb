"""Registration particulars: what the Department of Land Transport re-registers after the
conversion (fuel, category, seats, gross weight, owner, structural change, weights before and
after) and the limits the weights are held to. The manual's ``[registration]`` table holds the
model's figures and limits; the job holds the owner; the weighing steps hold the weights.

The certificate prints :func:`particulars`; :func:`registration_blockers` is the part of the
issuing rule that refuses a car over a limit or without what the DLT needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from workshop.inspection.services import Weight, weights
from workshop.jobs.models import Job
from workshop.jobs.progress import manual_of
from workshop.manuals.schema import Registration


@dataclass(frozen=True)
class WeightLimit:
    """One weight before and after, with its limit: ``limit_kg`` for an axle (the permitted
    load), ``limit_percent`` for the curb weight (the largest increase)."""

    weight: Weight
    limit_kg: float | None = None
    limit_percent: float | None = None

    @property
    def exceeded(self) -> bool:
        """Whether the weight after the conversion is over its limit (False while unweighed)."""
        after = self.weight.after
        if after is None:
            return False
        if self.limit_kg is not None and after > self.limit_kg:
            return True
        change = self.weight.change_percent
        return self.limit_percent is not None and change is not None and change > self.limit_percent


@dataclass(frozen=True)
class Particulars:
    """What the certificate prints for the registration, and what is wrong with it."""

    registration: Registration | None
    weights: list[WeightLimit]

    @property
    def curb_weight_after(self) -> float | None:
        return self.weights[0].weight.after if self.weights else None

    @property
    def payload_kg(self) -> float | None:
        """Gross weight less the curb weight after the conversion."""
        if self.registration is None or self.curb_weight_after is None:
            return None
        return self.registration.gross_weight_kg - self.curb_weight_after


def particulars(job: Job, values: dict | None = None) -> Particulars:
    """The registration particulars of ``job`` (``values``: the latest step values, if read)."""
    registration = manual_of(job).registration
    limits: dict[str, dict] = {}
    if registration is not None:
        limits = {
            "curb_weight": {"limit_percent": registration.max_curb_weight_increase_percent},
            "front_axle": {"limit_kg": float(registration.permitted_front_axle_kg)},
            "rear_axle": {"limit_kg": float(registration.permitted_rear_axle_kg)},
        }
    return Particulars(
        registration,
        [WeightLimit(w, **limits.get(w.key, {})) for w in weights(job, values)],
    )


def registration_problems(job: Job, found: Particulars | None = None) -> list[tuple[str, dict]]:
    """(code, parameters) for each reason the DLT would send the file back: registration data
    missing from the manual, no owner ID, a weight over its limit."""
    found = particulars(job) if found is None else found
    problems: list[tuple[str, dict]] = []
    if found.registration is None:
        problems.append(("registration_data_missing", {"manual": job.manual_id}))
    if not job.owner_national_id:
        problems.append(("owner_id_missing", {}))
    for limit in found.weights:
        if not limit.exceeded:
            continue
        w = limit.weight
        if limit.limit_percent is not None:
            problems.append(
                (
                    "curb_weight_over_limit",
                    {
                        "change": f"{w.change_percent:+.1f}",
                        "limit": f"{limit.limit_percent:g}",
                    },
                )
            )
        else:
            problems.append(
                (
                    f"{w.key}_over_permitted",
                    {"after": f"{w.after:,.0f}", "limit": f"{limit.limit_kg:,.0f}"},
                )
            )
    return problems

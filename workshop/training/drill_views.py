"""Training screens: fault-finding drills on the simulated bench (set, attempt, run, diagnose)."""

import json

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from workshop.accounts.access import centre_scope, requires
from workshop.eol.definitions import list_kits, load_kit
from workshop.eol.faults import FAULTS, applicable_faults
from workshop.eol.runs import SEQUENCE_NAMES, reap_with_settings
from workshop.extensions import db
from workshop.formtools import choices
from workshop.training import drills
from workshop.training.blueprint import TR, TRAINEES, A, S, T, bp
from workshop.training.forms import DrillForm
from workshop.training.models import (
    Drill,
    DrillAttempt,
)
from workshop.transactions import transaction
from workshop.web import current_locale

# --- drills -------------------------------------------------------------------------------


def _fault_label(name: str, locale: str) -> str:
    fault = FAULTS[name]
    return fault.title_en if locale == "en" else fault.title_th


def _component_labels() -> dict:
    return {"ecu": _("EV ECU"), "bms": _("Battery (BMS)"), "brakes": _("Brakes (vacuum pump)")}


@bp.route("/drills/new", methods=["GET", "POST"])
@requires(TR)
def create_drill():
    """Set up a drill: a simulated vehicle with hidden faults."""
    locale = current_locale()
    form = DrillForm()
    kits = list_kits()
    form.kit_id.choices = choices((k, k) for k in kits)
    form.faults.choices = choices(
        (name, f"{f.sequence.upper()} · {_fault_label(name, locale)}") for name, f in FAULTS.items()
    )
    # The page offers only the faults the chosen kit can reveal (app.js filters by this map; the
    # service refuses any other).
    form.kit_id.render_kw = {
        "data-kit-faults": json.dumps({k: sorted(applicable_faults(load_kit(k))) for k in kits})
    }
    form.sequences.choices = choices((s, s.upper()) for s in SEQUENCE_NAMES)
    if request.method == "GET":
        form.sequences.data = list(SEQUENCE_NAMES)
    if form.validate_on_submit():
        with transaction(_("Drill ready for trainees.")) as done:
            drill = drills.create_drill(
                current_user,
                title=form.title.data,
                kit_id=form.kit_id.data,
                faults=form.faults.data,
                sequences=form.sequences.data,
            )
        if done:
            return redirect(url_for("training.show_drill", drill_id=drill.id))
    return render_template("training/drill_form.html", form=form)


@bp.route("/drills/<int:drill_id>")
@requires(T, S, TR, A)
def show_drill(drill_id: int):
    """A drill: trainees start or continue it; its trainer sees every attempt."""
    drill = db.get_or_404(Drill, drill_id)
    sees_all = drill.trainer_id == current_user.id or current_user.has_role(A)
    mine = next((a for a in drill.attempts if a.trainee_id == current_user.id), None)
    return render_template(
        "training/drill.html",
        drill=drill,
        sees_all=sees_all,
        shows_faults=drills.may_see_hidden_faults(current_user),
        mine=mine,
        attempts=drill.attempts if sees_all else [],
        runs_of=drills.attempt_runs,
        fault_label=lambda n: _fault_label(n, current_locale()),
        components=_component_labels(),
    )


@bp.route("/drills/<int:drill_id>/start", methods=["POST"])
@requires(*TRAINEES)
def start_attempt(drill_id: int):
    """Start (or continue) the current user's attempt; the clock starts now."""
    drill = db.get_or_404(Drill, drill_id)
    with transaction() as done:
        attempt = drills.start_attempt(drill, current_user)
    if not done:
        return redirect(url_for("training.show_drill", drill_id=drill.id))
    return redirect(url_for("training.show_attempt", attempt_id=attempt.id))


def _visible_attempt(attempt_id: int) -> DrillAttempt:
    attempt = db.get_or_404(DrillAttempt, attempt_id)
    allowed = (
        attempt.trainee_id == current_user.id
        or attempt.drill.trainer_id == current_user.id
        or current_user.has_role(A)
        or (current_user.has_role(S) and centre_scope().allows(attempt.trainee.centre_id))
    )
    if not allowed:
        abort(403)
    return attempt


def _simulated_benches() -> list[str]:
    return [n for n, c in current_app.config["EOL_BENCHES"].items() if c.get("simulate")]


@bp.route("/attempts/<int:attempt_id>")
@requires(T, S, TR, A)
def show_attempt(attempt_id: int):
    """The trainee's bench: run sequences, read the results, submit a diagnosis."""
    attempt = _visible_attempt(attempt_id)
    if reap_with_settings(current_app.config):  # a drill run whose bench agent died
        db.session.commit()
    runs = drills.attempt_runs(attempt)
    revealed = drills.may_see_hidden_faults(current_user, attempt)
    locale = current_locale()
    return render_template(
        "training/attempt.html",
        attempt=attempt,
        drill=attempt.drill,
        runs=runs,
        running=any(not r.finished for r in runs),
        is_trainee=attempt.trainee_id == current_user.id,
        revealed=revealed,
        benches=_simulated_benches(),
        components=_component_labels(),
        faults=[(n, f"{_fault_label(n, locale)}") for n in FAULTS],
        fault_label=lambda n: _fault_label(n, locale),
        score=drills.score_diagnosis(attempt.drill.faults, attempt.diagnosis)
        if attempt.diagnosis
        else None,
    )


@bp.route("/attempts/<int:attempt_id>/runs", methods=["POST"])
@requires(*TRAINEES)
def run_drill(attempt_id: int):
    """Queue an EOL run of the drill vehicle on a simulated bench."""
    attempt = _visible_attempt(attempt_id)
    benches = _simulated_benches()
    with transaction(_("Test queued on the simulated bench.")):
        drills.run_drill(
            attempt,
            current_user,
            request.form.get("bench") or (benches[0] if benches else ""),
            request.form.getlist("sequence"),
            current_app.config["EOL_BENCHES"],
        )
    return redirect(url_for("training.show_attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/diagnosis", methods=["POST"])
@requires(*TRAINEES)
def submit_diagnosis(attempt_id: int):
    """Submit which component and which fault, for each hidden fault; scored at once."""
    attempt = _visible_attempt(attempt_id)
    entries = [
        {
            "component": request.form.get(f"component-{i}", ""),
            "fault": request.form.get(f"fault-{i}", ""),
        }
        for i in range(len(attempt.drill.faults))
    ]
    with transaction() as done:
        result = drills.submit_diagnosis(attempt, current_user, entries)
        done.success = _("Diagnosis submitted: score %(score)d%%.", score=result.score)
    return redirect(url_for("training.show_attempt", attempt_id=attempt.id))

"""The centre's register of calibrated instruments: list, register, retire, certificate file."""

from flask import Blueprint, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workshop.accounts.access import centre_scope, get_in_scope_or_404, requires
from workshop.accounts.models import Role
from workshop.filestore import FileStore
from workshop.formtools import choices
from workshop.instrument_kinds import instrument_kinds
from workshop.jobs import instruments
from workshop.jobs.forms import InstrumentForm, RetireForm
from workshop.jobs.models import Instrument
from workshop.transactions import transaction
from workshop.web import current_locale

bp = Blueprint("instruments", __name__, url_prefix="/instruments")
VIEWERS = (Role.TECHNICIAN, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN)


@bp.route("/", methods=["GET", "POST"])
@requires(*VIEWERS)
def instrument_register():
    """Every instrument of the user's centres; a supervisor registers one of their centre."""
    locale = current_locale()
    form = InstrumentForm()
    form.kind.choices = choices([(k.id, k.name(locale)) for k in instrument_kinds().values()])
    may_register = current_user.has_role(Role.SUPERVISOR) and current_user.centre is not None
    if may_register and form.validate_on_submit():
        upload = request.files.get("certificate")
        new = instruments.NewInstrument(
            kind=form.kind.data,
            make_model=form.make_model.data,
            serial=form.serial.data,
            certificate_number=form.certificate_number.data,
            calibrated_on=form.calibrated_on.data,
            due_on=form.due_on.data,
            certificate=upload.read(instruments.MAX_CERTIFICATE_BYTES + 1) if upload else b"",
        )
        with transaction() as done:
            instrument = instruments.register_instrument(
                current_user.centre, new, current_user, current_app.config["UPLOAD_FOLDER"]
            )
            done.success = _("Instrument %(serial)s registered.", serial=instrument.serial)
        if done:
            return redirect(url_for("instruments.instrument_register"))
    return render_template(
        "jobs/instruments.html",
        form=form if may_register else None,
        register=instruments.register_of(centre_scope().centre_ids),
        today=instruments.today(),
        retire_form=RetireForm(),
    )


@bp.route("/<int:instrument_id>/retire", methods=["POST"])
@requires(Role.SUPERVISOR)
def retire_instrument(instrument_id: int):
    """Take an instrument out of use; readings taken with it stay as they were."""
    instrument = get_in_scope_or_404(Instrument, instrument_id)
    if RetireForm().validate_on_submit():
        with transaction(_("Instrument %(serial)s retired.", serial=instrument.serial)):
            instruments.retire_instrument(instrument, current_user)
    return redirect(url_for("instruments.instrument_register"))


@bp.route("/<int:instrument_id>/certificate")
@requires(*VIEWERS)
def instrument_certificate(instrument_id: int):
    """The calibration certificate file of an instrument."""
    instrument = get_in_scope_or_404(Instrument, instrument_id)
    if not instrument.certificate_sha256:
        return redirect(url_for("instruments.instrument_register"))
    path = FileStore.from_config(current_app.config).path(
        "calibration", instrument.certificate_sha256
    )
    response = send_file(path, mimetype=instrument.certificate_type, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response

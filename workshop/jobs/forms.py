"""Forms of the jobs feature (the step inputs themselves come from the manual data)."""

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from workshop.formtools import Form
from workshop.national_id import national_id_problem, normalise_national_id


class IntakeForm(Form):
    manual_id = SelectField(_l("Car model and conversion manual"), validators=[DataRequired()])
    kit_id = SelectField(_l("Conversion kit"), validators=[Optional()])
    vin = StringField(
        _l("VIN (17 characters)"),
        validators=[DataRequired(), Length(min=17, max=24)],
        render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"},
    )
    plate = StringField(_l("Licence plate"), validators=[DataRequired(), Length(max=32)])
    province = SelectField(_l("Plate province"), validators=[DataRequired()])
    year = IntegerField(
        _l("Year"), validators=[DataRequired(), NumberRange(min=1980, max=date.today().year + 1)]
    )
    colour = StringField(_l("Colour"), validators=[DataRequired(), Length(max=64)])
    engine_number = StringField(_l("Engine number"), validators=[DataRequired(), Length(max=64)])
    odometer_km = IntegerField(
        _l("Odometer (km)"), validators=[DataRequired(), NumberRange(min=0, max=2_000_000)]
    )
    curb_weight_kg = IntegerField(
        _l("Curb weight (kg)"), validators=[DataRequired(), NumberRange(min=300, max=5000)]
    )
    owner_name = StringField(_l("Owner's name"), validators=[DataRequired(), Length(max=200)])
    owner_phone = StringField(
        _l("Owner's phone"),
        validators=[
            DataRequired(),
            Regexp(r"^\+?[0-9][0-9 -]{7,18}$", message=_l("Digits only, e.g. 081 234 5678.")),
        ],
        render_kw={"inputmode": "tel"},
    )
    owner_national_id = StringField(
        _l("Owner's national ID (13 digits, as on the ID card)"),
        validators=[Length(max=24)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    is_training = BooleanField(
        _l("Training job (practice on a training car: never gets a conversion certificate)")
    )

    def validate_owner_national_id(self, field):
        """The service's rule, shown on the field: required unless a training car, valid if given."""
        value = normalise_national_id(field.data or "")
        if not value and self.is_training.data:
            return
        problem = national_id_problem(value)
        if problem:
            raise ValidationError(str(problem))


class CancelForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class InstrumentForm(Form):
    """Register a calibrated instrument (the kinds come from checklists/instruments.toml)."""

    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    make_model = StringField(_l("Make and model"), validators=[DataRequired(), Length(max=120)])
    serial = StringField(_l("Serial number"), validators=[DataRequired(), Length(max=64)])
    certificate_number = StringField(
        _l("Calibration certificate number"), validators=[DataRequired(), Length(max=64)]
    )
    calibrated_on = DateField(_l("Calibrated on"), validators=[DataRequired()])
    due_on = DateField(_l("Calibration due on"), validators=[DataRequired()])
    certificate = FileField(_l("Calibration certificate (PDF or photo)"))


class RetireForm(Form):
    """Only the CSRF token."""

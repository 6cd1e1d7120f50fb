"""Forms of the training feature (roll calls, scores and diagnoses are read from the request)."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from workshop.formtools import Form


class SessionForm(Form):
    course_code = SelectField(_l("Course"), validators=[DataRequired()])
    place = StringField(_l("Place"), validators=[DataRequired(), Length(max=200)])
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired()])
    capacity = IntegerField(
        _l("Seats"), validators=[DataRequired(), NumberRange(min=1, max=200)], default=12
    )


class EnrolForm(Form):
    username = StringField(
        _l("Trainee's username"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DrillForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    kit_id = SelectField(_l("Kit (the simulated vehicle speaks its CAN database)"))
    faults = _Checkboxes(_l("Hidden faults"), validators=[DataRequired()])
    sequences = _Checkboxes(_l("Sequences the trainees may run"), validators=[DataRequired()])

"""Forms of the inspection feature (the checklist answers come from the checklist data)."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workshop.formtools import Form, choices


class FindingForm(Form):
    item_id = SelectField(_l("Checklist item"), validators=[Optional()])
    text = TextAreaField(_l("Finding"), validators=[DataRequired(), Length(max=4000)])
    photo = FileField(_l("Photo"))


class RejectForm(Form):
    reasons = TextAreaField(
        _l("Reasons (sent back to the centre)"), validators=[DataRequired(), Length(max=4000)]
    )


class SignoffForm(Form):
    branch = SelectField(
        _l("Branch"),
        choices=choices([("mechanical", _l("mechanical")), ("electrical", _l("electrical"))]),
        validators=[DataRequired()],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class LicenceForm(Form):
    user_id = SelectField(_l("Engineer"), validators=[DataRequired()])
    branch = SelectField(
        _l("Branch"),
        choices=choices([("mechanical", _l("mechanical")), ("electrical", _l("electrical"))]),
        validators=[DataRequired()],
    )
    licence_number = StringField(_l("Licence number"), validators=[DataRequired(), Length(max=64)])
    expires_on = DateField(_l("Valid until"), validators=[DataRequired()])

"""Forms of the kits feature: receiving deliveries, moving components, job costs."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from workshop.formtools import Form

_SCANNER = {"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}


class ReceiveForm(Form):
    supplier = StringField(_l("Supplier"), validators=[DataRequired(), Length(max=200)])
    invoice_number = StringField(_l("Invoice number"), validators=[DataRequired(), Length(max=64)])
    part = SelectField(_l("Part"), validators=[DataRequired()])
    unit_cost = StringField(
        _l("Actual unit cost (THB, excluding VAT)"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal"},
    )
    quantity = IntegerField(
        _l("Quantity (parts without serial numbers)"),
        validators=[Optional(), NumberRange(min=1, max=100000)],
        render_kw={"inputmode": "numeric"},
    )
    serials = TextAreaField(
        _l("Serial numbers, one per line (type or scan)"),
        validators=[Optional(), Length(max=400000)],
        render_kw={**_SCANNER, "rows": 8},
    )
    serials_csv = FileField(_l("…or a CSV file of serial numbers"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class MoveForm(Form):
    action = SelectField(_l("Action"), validators=[DataRequired()])
    job_id = SelectField(_l("Job"), validators=[Optional()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class CostLineForm(Form):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    description = StringField(_l("Description"), validators=[DataRequired(), Length(max=200)])
    quantity = StringField(
        _l("Quantity"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal"},
    )
    unit_cost = StringField(
        _l("Unit cost (THB, excluding VAT)"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal"},
    )


class ConsumeForm(Form):
    part_number = SelectField(_l("Part from stock"), validators=[DataRequired()])
    quantity = IntegerField(
        _l("Quantity"),
        validators=[DataRequired(), NumberRange(min=1, max=100000)],
        render_kw={"inputmode": "numeric"},
    )

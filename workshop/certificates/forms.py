"""Forms of the certificates feature."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from workshop.formtools import Form


class RevokeForm(Form):
    reason = TextAreaField(
        _l("Reason for the revocation"), validators=[DataRequired(), Length(max=2000)]
    )


class UploadForm(Form):
    pdf = FileField(_l("Certificate PDF"), validators=[FileRequired()])

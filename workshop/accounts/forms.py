"""Forms for logging in, changing passwords and managing centres and users."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from workshop.accounts.models import Role
from workshop.formtools import Form, choices

ROLE_LABELS = {
    Role.TECHNICIAN: _l("Technician"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.TRAINER: _l("Trainer"),
    Role.INSPECTOR: _l("Inspector"),
    Role.ADMIN: _l("Administrator"),
}


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as large checkboxes (easier with a finger than a list box)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Log in"))


class PasswordChangeForm(Form):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=256)]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=10, max=256)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class CentreForm(Form):
    code = StringField(
        _l("Centre code"),
        validators=[
            DataRequired(),
            Regexp(r"^[A-Za-z0-9]{2,16}$", message=_l("2-16 letters or digits.")),
        ],
    )
    name_th = StringField(_l("Name (Thai)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    province = SelectField(_l("Province"), validators=[DataRequired()])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=1000)])
    licence_number = StringField(_l("Licence number"), validators=[Optional(), Length(max=64)])
    labour_rate = DecimalField(
        _l("Labour rate (THB/hour)"),
        places=2,
        validators=[DataRequired(), NumberRange(min=0, max=100000)],
    )
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class UserForm(Form):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Regexp(
                r"^[a-z0-9][a-z0-9._-]{2,63}$",
                message=_l("3-64 lower-case letters, digits, dot, dash or underscore."),
            ),
        ],
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    roles = MultiCheckboxField(
        _l("Roles"),
        choices=choices((r.value, label) for r, label in ROLE_LABELS.items()),
        validators=[DataRequired(message=_l("Choose at least one role."))],
    )
    centre_id = SelectField(_l("Centre"), coerce=int, validators=[Optional()])
    all_centres = BooleanField(_l("All centres (inspectors and administrators)"))
    extra_centre_ids = MultiCheckboxField(
        _l("Further centres (inspectors and administrators)"), coerce=int
    )
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=10, max=256)])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class LanguageForm(Form):
    """Only carries the CSRF token; the language comes from the button pressed."""


class GrantForm(Form):
    code = SelectField(_l("Qualification"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])

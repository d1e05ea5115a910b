from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class ProfileForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Interface language"),
        choices=[("", _("Same as my browser")), ("zh-hans", "简体中文"), ("en", "English")],
        required=False,
    )

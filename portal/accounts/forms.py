from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _

from .throttle import client_ip, seconds_until_allowed


class ThrottledAuthenticationForm(AuthenticationForm):
    """The login form, refusing attempts while the username or address is throttled."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        wait = seconds_until_allowed(username=username, ip_address=client_ip(self.request))
        if wait:
            minutes = (wait + 59) // 60
            raise forms.ValidationError(
                _("Too many failed attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes},
                code="throttled",
            )
        return super().clean()

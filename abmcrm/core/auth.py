"""Where abmcrm's pages send anonymous users, and where a log-in lands.

Django's default LOGIN_URL, `/accounts/login/`, falls among abmcrm's own `accounts/` pages
(a 404), and its default LOGIN_REDIRECT_URL, `/accounts/profile/`, likewise. So unless the
host project set its own, abmcrm's pages use abmcrm's login page (`abmcrm-login`) and a log-in
lands on abmcrm's home page."""

from functools import wraps

from django.conf import global_settings
from django.conf import settings as django_settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url


def login_url():
    """The host's LOGIN_URL if it set one, else abmcrm's login page."""
    if django_settings.LOGIN_URL != global_settings.LOGIN_URL:
        return resolve_url(django_settings.LOGIN_URL)
    return resolve_url("abmcrm-login")


def login_redirect_url():
    """The host's LOGIN_REDIRECT_URL if it set one, else abmcrm's home page."""
    if django_settings.LOGIN_REDIRECT_URL != global_settings.LOGIN_REDIRECT_URL:
        return resolve_url(django_settings.LOGIN_REDIRECT_URL)
    return resolve_url("home")


def login_required(view):
    """Django's `login_required`, sending anonymous users to `login_url()`."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        return redirect_to_login(request.get_full_path(), login_url())

    return wrapper

"""Where a webhook may point. Outside DEBUG: https only, and never at a private, loopback,
link-local or otherwise internal address (a subscription must not turn abmcrm's servers into
a way into their own network: SSRF), unless ABMCRM_WEBHOOK_ALLOW_PRIVATE (which also allows
plain http: receivers on a private network, and the tests'). Checked when a
subscription is saved (for an address in the URL) and again before each request (for the
addresses its host name resolves to then)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from ..conf import settings


class TargetRefused(Exception):
    """The URL may not be called; the message says why."""


def private_allowed():
    return bool(django_settings.DEBUG or settings.ABMCRM_WEBHOOK_ALLOW_PRIVATE)


def _internal(address):
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def url_problem(url):
    """Why `url` may not be a webhook's target (a translated sentence), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Enter an http(s) URL with a host name.")
    if parts.scheme != "https" and not private_allowed():
        return _("The URL must use https.")
    if parts.username or parts.password:
        return _("Put no user name or password in the URL: the signature authenticates "
                 "abmcrm to the receiver.")
    if private_allowed():
        return None
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        return _("The URL points at this server; webhooks go to other systems.")
    try:
        if _internal(host):
            return _("The URL points at a private or internal address.")
    except ValueError:
        pass  # a host name: resolved before each request
    return None


def check_before_request(url):
    """Raise TargetRefused if `url` may not be called now (its host resolves to an
    internal address)."""
    problem = url_problem(url)
    if problem:
        raise TargetRefused(problem)
    if private_allowed():
        return
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return  # the request itself fails and is retried
    for info in infos:
        if _internal(info[4][0]):
            raise TargetRefused(_("The URL's host resolves to a private or internal address."))

"""Throttles: failed log-ins by username and by client address (one rule for the login page
and the token endpoint), and per-user rates on the expensive API endpoints.

Both count in the cache named by ABMCRM_THROTTLE_CACHE. With several web processes that cache
must be shared (Redis, Memcached, the database), or each process counts on its own and lets
through as many attempts as there are processes; `manage.py check` warns (abmcrm.W014).

Failed log-ins are counted in fixed windows that open at the first failure: after
ABMCRM_LOGIN_FAILURES_PER_USERNAME failures for one username (or _PER_ADDRESS from one
address) within ABMCRM_LOGIN_FAILURE_WINDOW seconds, every attempt for it is refused, right
password or not, until the window closes. A successful log-in clears its username's count.
Counting is an atomic increment on Redis, Memcached and the local-memory cache."""

import hashlib
import math
import time
from collections.abc import Mapping

from django.core.cache import caches
from drf_spectacular.utils import OpenApiResponse
from rest_framework import throttling

from .conf import DEFAULTS, settings

# The schema's entry for a throttled endpoint's 429.
THROTTLED = OpenApiResponse(description="Throttled: too many requests by this user "
                                        "(ABMCRM_THROTTLE_RATES); Retry-After says when to "
                                        "try again.")


def _cache():
    return caches[settings.ABMCRM_THROTTLE_CACHE]


def client_address(request):
    """The client's address as DRF's throttles see it: REMOTE_ADDR, or with
    REST_FRAMEWORK["NUM_PROXIES"] the address that many proxies back in X-Forwarded-For."""
    return throttling.BaseThrottle().get_ident(request)


def _key(kind, value):
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"abmcrm:login-failures:{kind}:{digest}"


def _rules(*, username, address):
    """[(cache key, limit)] of the rules that apply to this attempt."""
    rules = []
    if username:
        # Case-folded: a case-insensitive user model must not give an attacker 2^n counters.
        rules.append((_key("username", username.casefold()),
                      settings.ABMCRM_LOGIN_FAILURES_PER_USERNAME))
    if address:
        rules.append((_key("address", address), settings.ABMCRM_LOGIN_FAILURES_PER_ADDRESS))
    return [(key, limit) for key, limit in rules if limit]


def login_wait(*, username, address):
    """Seconds until this username and address may try to log in again, or None if they
    may now."""
    rules = _rules(username=username, address=address)
    if not rules:
        return None
    cache, window, now = _cache(), int(settings.ABMCRM_LOGIN_FAILURE_WINDOW), time.time()
    values = cache.get_many([name for key, _ in rules for name in (key, f"{key}:since")])
    waits = []
    for key, limit in rules:
        if (values.get(key) or 0) >= limit:
            since = values.get(f"{key}:since")
            waits.append(window if since is None else max(1, math.ceil(since + window - now)))
    return max(waits) if waits else None


def login_failed(*, username, address):
    """Count one failed log-in against the username and the address."""
    cache, window = _cache(), int(settings.ABMCRM_LOGIN_FAILURE_WINDOW)
    for key, _ in _rules(username=username, address=address):
        # The window opens at its first failure; both keys go when it closes.
        cache.add(f"{key}:since", time.time(), window)
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:
            # The window closed between add() and incr() (or the cache keeps nothing, as
            # the dummy cache does): this failure opens the next one.
            cache.add(key, 1, window)


def login_succeeded(*, username):
    """A successful log-in clears its username's failures (not its address's: one known
    password must not reset the count of an address trying many usernames)."""
    for key, _ in _rules(username=username, address=None):
        _cache().delete_many([key, f"{key}:since"])


def request_username(request):
    """The `username` a token request names, if any (the body may be anything)."""
    data = request.data
    value = data.get("username") if isinstance(data, Mapping) else None
    return value if isinstance(value, str) else ""


class LoginFailureThrottle(throttling.BaseThrottle):
    """Refuses a token request (429 with Retry-After) while its username or its client
    address has too many recent failed log-ins; the view counts the failures."""

    def allow_request(self, request, view):
        self.wait_seconds = login_wait(username=request_username(request),
                                       address=self.get_ident(request))
        return self.wait_seconds is None

    def wait(self):
        return self.wait_seconds


class UserRateThrottle(throttling.SimpleRateThrottle):
    """DRF's per-user rate throttle with its rate from ABMCRM_THROTTLE_RATES[scope] and its
    counts in ABMCRM_THROTTLE_CACHE. Anonymous requests are not counted (the endpoints it
    guards refuse them)."""

    def __init__(self, scope):
        self.scope = scope
        self.cache = _cache()
        super().__init__()

    def get_rate(self):
        rates = {**DEFAULTS["ABMCRM_THROTTLE_RATES"], **settings.ABMCRM_THROTTLE_RATES}
        return rates.get(self.scope)

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": f"abmcrm:{self.scope}", "ident": request.user.pk}

import re

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_domain(value):
    """`https://WWW.Acme.com/about` → `acme.com`. Raises ValueError for what is no domain."""
    text = (value or "").strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    text = text.split(":", 1)[0].rstrip(".")
    if text.startswith("www."):
        text = text[4:]
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"“{value}” is not a valid domain.") from exc
    if not _DOMAIN_RE.match(text):
        raise ValueError(f"“{value}” is not a valid domain (expected something like acme.com).")
    return text


def domain_of_email(email):
    """The normalised domain of an e-mail address, or None."""
    try:
        return normalise_domain(email.rsplit("@", 1)[1]) if email and "@" in email else None
    except ValueError:
        return None

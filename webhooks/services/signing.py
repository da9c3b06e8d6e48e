"""The signature of a webhook request: `X-Abmcrm-Signature: sha256=<hex>`, the HMAC-SHA256 of
"<timestamp>.<body>" with the subscription's secret (docs/apps/webhooks.md shows the
receiver's side)."""

import hashlib
import hmac


def signature(secret, timestamp, body):
    """body: the request's bytes."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()

"""Keys never reach a file, a log or a line on the screen: every secret read from the
environment is remembered here, and every text that leaves the process passes through `redact`.

A module of its own, below everything: the model config remembers the secrets it substitutes,
the executor and the telemetry writers redact, and neither needs the other for it.
"""

from __future__ import annotations

_secrets: set[str] = set()


def remember_secret(secret: str) -> None:
    if secret:
        _secrets.add(secret)


def redact(text: str) -> str:
    """Replace every secret substituted from the environment by '***'."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text

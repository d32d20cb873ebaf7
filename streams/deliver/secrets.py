"""Secrets of subscriptions at rest: webhook passwords and object-store credentials.

A :class:`SecretBox` encrypts each secret with Fernet (AES-128-CBC + HMAC-SHA256,
authenticated, from the ``cryptography`` package) before it is written to the store; the
stored form is ``fernet:v1:<token>``. The key comes from the ``EOPORT_SECRET_KEY``
setting (one or more comma-separated url-safe base64 32-byte keys: the first encrypts,
all decrypt, so keys can be rotated) or, in the embedded default, from a key file
created next to the stores with mode 0600 (:func:`load_or_create_key`). The API and
the ``deliver`` stage must use the same key (the same file, or the same setting).

Files holding secrets are created owner-only (:func:`private_file`), and an existing
file found readable by others is narrowed to 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from streams._infra.errors import ConfigurationError, PermanentError
from streams._infra.sqlite import private_dir, private_file

__all__ = [
    "KEY_FILE", "SEALED_PREFIX", "SecretBox", "SecretUnavailableError", "load_or_create_key",
    "private_dir", "private_file",
]  # fmt: skip

KEY_FILE = "secrets.key"
"""Name of the embedded key file under the state directory."""

SEALED_PREFIX = "fernet:v1:"
"""Prefix of an encrypted value as stored."""


class SecretUnavailableError(PermanentError):
    """A stored secret cannot be decrypted (wrong or rotated-away key)."""


def load_or_create_key(path: Path) -> str:
    """The key in ``path``, creating a new random one (mode 0600) if the file is missing.

    Raises
    ------
    ConfigurationError
        If the file exists but does not hold a valid key.
    """
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        private_file(path)
        key = path.read_text().strip()
        SecretBox(key)  # validates
        return key
    key = Fernet.generate_key().decode()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


class SecretBox:
    """Encrypt and decrypt secrets with Fernet.

    Parameters
    ----------
    keys
        One key or several, comma-separated (url-safe base64 of 32 bytes each); the first
        encrypts, every one decrypts.

    Raises
    ------
    ConfigurationError
        If a key is malformed.
    """

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ConfigurationError("secret key is empty")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "secret key must be url-safe base64 of 32 bytes (Fernet.generate_key())"
            ) from exc

    @classmethod
    def for_state_dir(cls, state_dir: Path | str, key: str | None = None) -> SecretBox:
        """The box of ``key`` if given, else of the key file under ``state_dir``."""
        if key:
            return cls(key)
        return cls(load_or_create_key(Path(state_dir) / KEY_FILE))

    def seal(self, plain: str) -> str:
        """``fernet:v1:<token>`` for ``plain``."""
        return SEALED_PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plain text of a value from :meth:`seal`.

        Raises
        ------
        SecretUnavailableError
            Not sealed by this service, or sealed with a key no longer configured.
        """
        if not sealed.startswith(SEALED_PREFIX):
            raise SecretUnavailableError("stored secret is not in the sealed form")
        try:
            return self._fernet.decrypt(sealed.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken:
            raise SecretUnavailableError(
                "stored secret cannot be decrypted with the configured key(s)"
            ) from None

    @staticmethod
    def is_sealed(value: object) -> bool:
        """Whether ``value`` is a sealed secret."""
        return isinstance(value, str) and value.startswith(SEALED_PREFIX)

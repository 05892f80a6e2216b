"""Authenticated encryption of the secrets the service must keep usable (PRODUCT.md §8).

AES-256-GCM from ``cryptography``. A sealed value is ``version | key id | nonce | ciphertext``:
the key id says which key of the ring opened it, so keys can rotate while old values are still
read. Each value is bound to a *context* (what it is and whose it is, e.g. the tenant), passed
as associated data: a value copied into another row or another column does not open there.

The ring's first key seals; every key opens. Without configured keys the ring holds one key
derived from the instance secret; configured keys come first and the derived one stays last, so
moving to explicit keys (or rotating them) never strands a stored value. ``openbenefits
reencrypt`` seals everything again under the first key, after which older keys can go.
"""

import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openbenefits.kit.security import derive_key

VERSION = b"\x01"
KEY_ID_BYTES = 4
NONCE_BYTES = 12
PURPOSE = "encryption-at-rest"


class UndecryptableError(Exception):
    """No key of the ring opens the value, or it was altered or moved."""


class Keyring:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._ciphers = {_key_id(key): AESGCM(key) for key in keys}
        self._sealing_id = _key_id(keys[0])

    @classmethod
    def from_secrets(cls, instance_secret: bytes, configured: Sequence[str] = ()) -> "Keyring":
        """The configured keys (any high-entropy strings; the first seals), then the key derived
        from the instance secret."""
        keys = [derive_key(secret.encode(), PURPOSE) for secret in configured]
        keys.append(derive_key(instance_secret, PURPOSE))
        return cls(keys)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._ciphers[self._sealing_id].encrypt(nonce, plaintext, context.encode())
        return VERSION + self._sealing_id + nonce + ciphertext

    def open(self, sealed: bytes, context: str) -> bytes:
        header = len(VERSION) + KEY_ID_BYTES
        cipher = self._ciphers.get(sealed[len(VERSION) : header])
        if not sealed.startswith(VERSION) or cipher is None:
            raise UndecryptableError("sealed with an unknown key or format")
        nonce, ciphertext = sealed[header : header + NONCE_BYTES], sealed[header + NONCE_BYTES :]
        try:
            return cipher.decrypt(nonce, ciphertext, context.encode())
        except InvalidTag as error:
            raise UndecryptableError("altered, or opened in another context") from error

    def seal_text(self, plaintext: str, context: str) -> bytes:
        return self.seal(plaintext.encode(), context)

    def open_text(self, sealed: bytes, context: str) -> str:
        return self.open(sealed, context).decode()

    def is_current(self, sealed: bytes) -> bool:
        """Whether the value is sealed with the ring's first key (nothing to re-encrypt)."""
        return sealed[len(VERSION) : len(VERSION) + KEY_ID_BYTES] == self._sealing_id


def _key_id(key: bytes) -> bytes:
    return hmac.new(key, b"key-id", hashlib.sha256).digest()[:KEY_ID_BYTES]

"""RSA signature checks through the system's OpenSSL (``libcrypto``), via ctypes.

Why not ``cryptography`` here: its Rust module maps about 8 MiB into every process that imports
it, and a skill process checks one signature per request and nothing else. Python already maps
``libcrypto`` for ``hashlib``, so these few EVP calls cost nothing in memory. Chain validation,
the part with real X.509 logic, stays with ``cryptography`` (see ``chains.py``).

Only the EVP one-shot verify is bound: ``EVP_DigestVerify`` with the key's default padding, which
for RSA is PKCS #1 v1.5 (what Alexa signs with). ``PyDLL`` keeps the GIL during the ~20 µs call:
releasing and re-taking it costs a busy threaded server more than the call itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import weakref

_LIBRARY_NAMES = ("libcrypto.so.3", "libcrypto.so.1.1")
_EVP_PKEY_RSA = 6  # NID_rsaEncryption


class OpenSSLUnavailable(RuntimeError):
    """No usable libcrypto (1.1.1 or 3.x) could be loaded."""


def _bind(lib):
    """Declare the prototypes (a wrong restype truncates pointers); returns the key-type call."""
    ptr, size, long_, int_ = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long, ctypes.c_int
    signatures = {
        "d2i_PUBKEY": (ptr, [ptr, ctypes.POINTER(ptr), long_]),
        "EVP_PKEY_free": (None, [ptr]),
        "EVP_MD_CTX_new": (ptr, []),
        "EVP_MD_CTX_free": (None, [ptr]),
        "EVP_sha256": (ptr, []),
        "EVP_sha1": (ptr, []),
        "EVP_DigestVerifyInit": (int_, [ptr, ptr, ptr, ptr, ptr]),
        "EVP_DigestVerify": (int_, [ptr, ctypes.c_char_p, size, ctypes.c_char_p, size]),
        "ERR_clear_error": (None, []),
        "ERR_peek_error": (ctypes.c_ulong, []),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)  # AttributeError: too old a libcrypto
        function.restype, function.argtypes = restype, argtypes
    # OpenSSL 3 renamed EVP_PKEY_base_id (now a macro) to EVP_PKEY_get_base_id.
    key_type = getattr(lib, "EVP_PKEY_get_base_id", None) or lib.EVP_PKEY_base_id
    key_type.restype, key_type.argtypes = int_, [ptr]
    return key_type


def _candidates():
    yield from _LIBRARY_NAMES
    # Only then ask find_library, which runs ldconfig: Python has a libcrypto loaded already.
    yield ctypes.util.find_library("crypto")


def _load():
    for name in filter(None, _candidates()):
        try:
            lib = ctypes.PyDLL(name)
            return lib, _bind(lib)
        except (OSError, AttributeError):
            continue
    return None, None


_lib, _key_type = _load()


def available() -> bool:
    return _lib is not None


def _digest(name: str):
    if name == "sha256":
        return _lib.EVP_sha256()
    if name == "sha1":
        return _lib.EVP_sha1()
    raise ValueError(f"unsupported digest {name!r}")


class RSAPublicKey:
    """An RSA public key held by libcrypto; ``verify`` is safe to call from many threads."""

    def __init__(self, spki_der: bytes):
        if _lib is None:
            raise OpenSSLUnavailable("no libcrypto 1.1.1 or 3.x found")
        buffer = ctypes.create_string_buffer(spki_der, len(spki_der))
        cursor = ctypes.c_void_p(ctypes.addressof(buffer))
        pkey = _lib.d2i_PUBKEY(None, ctypes.byref(cursor), len(spki_der))
        if not pkey:
            _lib.ERR_clear_error()
            raise ValueError("not a DER SubjectPublicKeyInfo")
        self._pkey = pkey
        self._finalizer = weakref.finalize(self, _lib.EVP_PKEY_free, pkey)
        if _key_type(pkey) != _EVP_PKEY_RSA:
            raise ValueError("not an RSA key")
        self.spki_der = bytes(spki_der)

    def verify(self, signature: bytes, data: bytes, digest: str = "sha256") -> bool:
        """True when ``signature`` is the PKCS #1 v1.5 signature of ``data`` under this key."""
        md = _digest(digest)
        ctx = _lib.EVP_MD_CTX_new()
        if not ctx:
            raise MemoryError("EVP_MD_CTX_new failed")
        try:
            if _lib.EVP_DigestVerifyInit(ctx, None, md, None, self._pkey) != 1:
                raise RuntimeError("EVP_DigestVerifyInit failed")
            # 1 is a match; 0 a mismatch; anything else a malformed signature: all but 1 fail.
            return _lib.EVP_DigestVerify(ctx, signature, len(signature), data, len(data)) == 1
        finally:
            _lib.EVP_MD_CTX_free(ctx)
            # A failed check leaves entries on this thread's error queue, where hashlib or ssl
            # would later find them and report an unrelated error.
            if _lib.ERR_peek_error():
                _lib.ERR_clear_error()

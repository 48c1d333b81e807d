"""The runtime's verification error, apart so every verification module can raise it."""


class VerificationError(Exception):
    """Why a request was refused.

    The message is safe to log (no secrets); the request is answered 400.
    """


class TrustRootsError(VerificationError):
    """The configured CA bundle cannot be used: no chain can be trusted, whatever it holds."""

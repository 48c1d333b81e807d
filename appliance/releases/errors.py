class DeployError(Exception):
    """A deploy or rollback stopped; the message says why, in words, and what still runs."""

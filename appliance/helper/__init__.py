"""The root side: the helper that systemd starts for each connection to the admin's socket.

Everything here runs as root. It imports no Django and none of the admin's code (import-linter
checks it: pyproject.toml); what it knows of the catalogue comes checked through ``wire``.
"""

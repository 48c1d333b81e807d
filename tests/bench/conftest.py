"""Bench fixtures, and the summary table printed at the end of a bench run."""

from __future__ import annotations

import pytest

from skills.runtime.testing import builders

from .figures import FIGURES, RESULTS, table


@pytest.fixture(scope="session")
def skill_env(alexa_trust) -> dict[str, str]:
    """Environment of a skill process trusting the test PKI, configured as in production."""
    return {**alexa_trust, "ASK_APPLICATION_ID": builders.APPLICATION_ID}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not FIGURES:
        return
    terminalreporter.write_sep("=", "runtime benchmark figures")
    terminalreporter.write_line(table(list(FIGURES.values())))
    terminalreporter.write_line("")
    terminalreporter.write_line(f"figures written to {RESULTS}")

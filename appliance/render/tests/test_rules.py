"""The renderers and the catalogue's forms hold values to the same rules (render/rules.py)."""

import pytest
from django.core.exceptions import ValidationError

from appliance.catalogue import validators
from appliance.render import caddyfile, duckdns, envfiles, rules, systemd, sysv

pytestmark = pytest.mark.unit


def test_renderers_that_do_not_import_the_rules_yet_hold_the_same_patterns():
    # caddyfile, systemd and sysv still define their own copies; they must not drift.
    assert caddyfile._TOKEN_RE.pattern == rules.CADDY_TOKEN_RE.pattern
    assert systemd._CONTROL_RE.pattern == rules.CONTROL_RE.pattern
    assert sysv._CONTROL_RE.pattern == rules.CONTROL_RE.pattern


def test_the_environment_and_duckdns_renderers_use_the_rules_themselves():
    assert envfiles.ENV_NAME_RE is rules.ENV_NAME_RE
    assert duckdns.DUCKDNS_DOMAIN_RE is rules.DUCKDNS_DOMAIN_RE
    assert duckdns.DUCKDNS_TOKEN_RE is rules.DUCKDNS_TOKEN_RE


def accepted(validator, value) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("value", ["ops@example.org", "ops%team@example.org",
                                   "o ps@example.org", "ops@exa{mple.org"])
def test_an_email_the_form_takes_goes_into_the_caddyfile(value):
    if accepted(validators.validate_email, value):
        assert caddyfile._token(value, "e-mail") == value
    else:
        assert value != "ops@example.org"


@pytest.mark.parametrize("value", ["Memory Game", "Memory\tGame", "a\x1bb", "50% done"])
def test_a_name_the_form_takes_goes_into_a_unit(value):
    if accepted(validators.validate_text_line, value):
        systemd._text(value)
    else:
        with pytest.raises(ValueError):
            systemd._text(value)


@pytest.mark.parametrize("value", ["plain", "two\nlines", "cr\rhere", "nul\x00"])
def test_an_environment_value_the_form_takes_goes_into_an_env_file(value):
    if accepted(validators.validate_env_value, value):
        envfiles.quote_env_value("NAME", value)
    else:
        with pytest.raises(ValueError):
            envfiles.quote_env_value("NAME", value)


def test_duplicates_names_each_repeated_name_once():
    assert rules.duplicates(["a", "b", "a", "c", "b", "a"]) == ["a", "b"]

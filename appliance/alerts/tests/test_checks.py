"""Each alert check is a pure function of facts and thresholds: what it reports, and from when."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.alerts import checks
from appliance.alerts.facts import (
    CertificateFacts,
    DiskFacts,
    DuckDNSFacts,
    Facts,
    SkillFacts,
    Thresholds,
)

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
LIMITS = Thresholds()
MIB = 1024 * 1024


def facts(**fields) -> Facts:
    return Facts(now=NOW, **fields)


def keys(found) -> list[str]:
    return [finding.key for finding in found]


def test_more_restarts_than_the_limit_in_ten_minutes_is_a_problem_and_the_limit_itself_is_not():
    found = checks.restarts(facts(skills=(SkillFacts("quiz", restarts=4),
                                          SkillFacts("calm", restarts=3),
                                          SkillFacts("new", restarts=None))), LIMITS)
    assert keys(found) == ["restarts:quiz"]
    assert found[0].summary == "quiz restarted 4 times in 10 minutes"


def test_a_failed_health_check_is_reported_with_its_reason():
    found = checks.health(facts(skills=(SkillFacts("quiz", health_error="no answer (timed out)"),
                                        SkillFacts("fine"))), LIMITS)
    assert keys(found) == ["health:quiz"]
    assert found[0].detail == "no answer (timed out)"


def test_an_error_rate_over_the_threshold_is_a_problem_and_no_traffic_is_not():
    found = checks.error_rate(facts(skills=(SkillFacts("bad", error_rate=0.5),
                                            SkillFacts("edge", error_rate=0.05),
                                            SkillFacts("idle", error_rate=None))), LIMITS)
    assert keys(found) == ["errors:bad"]
    assert "50%" in found[0].summary


def test_a_certificate_expiring_in_under_fourteen_days_is_a_problem():
    ninety = dt.timedelta(days=90)
    soon = NOW + dt.timedelta(days=13, hours=23)
    later = NOW + dt.timedelta(days=14, hours=1)
    found = checks.certificates(facts(certificates=(
        CertificateFacts("a.example.org", not_after=soon, not_before=soon - ninety),
        CertificateFacts("b.example.org", not_after=later, not_before=later - ninety),
    )), LIMITS)
    assert keys(found) == ["certificate:a.example.org"]
    assert found[0].summary == "the certificate of a.example.org expires in 13 days"


def test_an_expired_or_missing_certificate_is_a_failed_renewal():
    found = checks.certificates(facts(certificates=(
        CertificateFacts("old.example.org", not_after=NOW - dt.timedelta(hours=1)),
        CertificateFacts("none.example.org", missing="Caddy serves none for none.example.org"),
    )), LIMITS)
    assert [f.summary for f in found] == ["the certificate of old.example.org has expired",
                                          "no certificate is served for none.example.org"]


def test_a_short_lived_certificate_is_a_problem_only_past_its_renewal_point():
    # Caddy's internal CA: 12 hours, renewed with 4 left; a problem with under 2 left.
    start = NOW - dt.timedelta(hours=9)
    fresh = CertificateFacts("local.localhost", not_before=start,
                             not_after=start + dt.timedelta(hours=12))
    assert checks.certificates(facts(certificates=(fresh,)), LIMITS) == []
    start = NOW - dt.timedelta(hours=11)
    stale = CertificateFacts("local.localhost", not_before=start,
                             not_after=start + dt.timedelta(hours=12))
    found = checks.certificates(facts(certificates=(stale,)), LIMITS)
    assert [f.summary for f in found] == ["the certificate of local.localhost expires in "
                                          "1 hour"]


def test_duckdns_failing_is_a_ko_answer_or_no_update_for_the_stale_time():
    ko = DuckDNSFacts(ran=True, ok=False, result="KO", when=NOW)
    assert keys(checks.duckdns(facts(duckdns=ko), LIMITS)) == ["duckdns"]
    stale = DuckDNSFacts(ran=True, ok=True, result="OK", when=NOW - dt.timedelta(minutes=16))
    found = checks.duckdns(facts(duckdns=stale), LIMITS)
    assert "16 minutes ago" in found[0].detail
    recent = DuckDNSFacts(ran=True, ok=True, result="OK", when=NOW - dt.timedelta(minutes=4))
    assert checks.duckdns(facts(duckdns=recent), LIMITS) == []


def test_duckdns_unused_or_never_run_is_no_problem():
    assert checks.duckdns(facts(duckdns=None), LIMITS) == []
    assert checks.duckdns(facts(duckdns=DuckDNSFacts(ran=False, ok=False)), LIMITS) == []


def test_a_disk_over_ninety_percent_is_a_problem_counted_as_df_does():
    full = DiskFacts("/var/lib/appliance", used=91 * MIB, free=9 * MIB)
    found = checks.disk(facts(disk=full), LIMITS)
    assert found[0].summary == "the disk is 91 % full"
    assert found[0].detail == "/var/lib/appliance: 9 MiB free."
    assert checks.disk(facts(disk=DiskFacts("/", used=90 * MIB, free=10 * MIB)), LIMITS) == []


def test_the_thresholds_come_from_the_settings_given():
    limits = Thresholds(restarts=0, error_rate_percent=1, disk_percent=10)
    found = checks.findings(facts(skills=(SkillFacts("quiz", restarts=1, error_rate=0.02),),
                                  disk=DiskFacts("/", used=11, free=89)), limits)
    assert sorted(found) == ["disk", "errors:quiz", "restarts:quiz"]


def test_every_check_keys_a_lasting_problem_the_same_at_every_check():
    state = facts(skills=(SkillFacts("quiz", restarts=9, health_error="502",
                                     error_rate=0.9),),
                  disk=DiskFacts("/", used=99, free=1))
    later = Facts(now=NOW + dt.timedelta(minutes=1), skills=state.skills,
                  disk=DiskFacts("/", used=98, free=2))
    assert checks.findings(state, LIMITS).keys() == checks.findings(later, LIMITS).keys()

"""Backup of an appliance with 20 skills <= 10 s (issue 16), against ``tar -czf`` of the same files
measured in the same run, round by round; and the restore of that archive into a fresh root,
against ``tar -xzf`` of the same tarball (for information: restoring to serving is the booted
host's end-to-end figure).

The host is laid out under a temporary root (``backup_host``): 20 skills' code, half uploaded
and half as five kept releases each, the catalogue database with their templates, secrets,
40 revisions and a week of monitor history, the rendered env files, the test console's CA and
Caddy's storage with a certificate and key per name. The real root helper runs as root does it
by hand, a process of its own: ``python -I -m appliance.helper backup`` (the catalogue's online
copy, the tar with its manifest, age encryption to the operator's recipient, the archive renamed
into root's folder) and ``restore-backup ARCHIVE --identity-file FILE`` (decrypted, every member
checked, each area put back).

Run with ``pytest -m bench -s tests/bench/test_backup_bench.py``; figures go to
``var/bench/backup.json``. ``BACKUP_BENCH_ROUNDS`` lowers the rounds for a quick check.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.helper.archive import CATALOGUE
from appliance.helper.tests.backup_fixtures import BackupHost

from . import backup_host
from .figures import FIGURES, REPO, Figure, write_results

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

RESULTS = REPO / "var" / "bench" / "backup.json"
ROUNDS = int(os.environ.get("BACKUP_BENCH_ROUNDS", "3"))
GOAL_S = 10.0


def keep(figure: Figure) -> Figure:
    FIGURES[figure.name] = figure
    write_results([figure], RESULTS)
    return figure


def timed(argv: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, check=False, **kwargs)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:] + \
        done.stdout.decode(errors="replace")[-2000:]
    return elapsed, done


def helper(layout_file: Path, *args: str) -> tuple[float, dict]:
    """The root helper by hand, in a process of its own: seconds, and its answer."""
    env = {**os.environ, "APPLIANCE_LAYOUT": str(layout_file)}
    elapsed, done = timed([sys.executable, "-I", "-m", "appliance.helper", *args], env=env,
                          stdin=subprocess.DEVNULL)
    answer = json.loads(done.stdout)
    assert answer.get("ok"), answer
    return elapsed, answer


def fresh_host(root: Path, monkeypatch) -> BackupHost:
    """A provisioned host's empty folders, its own layout, nothing restored yet."""
    root.mkdir()
    host = BackupHost(root, root.parent / f"{root.name}.json", monkeypatch)
    host.data.mkdir(parents=True)
    host.config.mkdir(parents=True)
    return host


def assert_restored(old: BackupHost, new: BackupHost, summary: dict) -> None:
    """Every file a backup takes is back where the new host keeps it, byte for byte."""
    digests = backup_host.digests
    old_releases = Path(old.paths.on_disk(old.paths.releases_dir))
    pairs = [(old.data / "skills", new.data / "skills"),
             (old.data / "console", new.data / "console")]
    for slug in backup_host.slugs()[backup_host.UPLOADED:]:
        for number in range(1, backup_host.RELEASES_KEPT + 1):
            # A release's code comes back where the admin stages it for the helper to rebuild.
            pairs.append((old_releases / slug / str(number) / "code",
                          new.data / "releases" / slug / str(number)))
    for before, after in pairs:
        expected = digests(before)
        assert expected and digests(after) == expected, after
    caddy = {name: digest for name, digest in digests(old.storage, frozenset({"locks"})).items()
             if name != "instance.uuid"}
    assert digests(new.storage) == caddy
    assert (new.config / "secret_key").read_bytes() == (old.config / "secret_key").read_bytes()
    with contextlib.closing(sqlite3.connect(new.data / CATALOGUE)) as db:
        counts = [db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("catalogue_skill", "catalogue_revision", "monitor_sample")]
        secrets = dict(db.execute("SELECT slug, secrets FROM catalogue_skill"))
    assert counts == [backup_host.SKILLS, summary["revisions"], summary["history_rows"]]
    assert json.loads(secrets["skill-00"])["API_TOKEN"]


def test_backup_of_an_appliance_with_20_skills(tmp_path, monkeypatch):
    started = time.perf_counter()
    (tmp_path / "old").mkdir()
    old = BackupHost(tmp_path / "old", tmp_path / "old.json", monkeypatch)
    taken, summary = backup_host.build(old)
    identity = tmp_path / "identity.txt"
    identity.write_text(f"{old.identity}\n")
    identity.chmod(0o600)
    listing = tmp_path / "files.list"
    listing.write_bytes(b"".join(str(path).lstrip("/").encode() + b"\0" for path in taken))
    print(f"\n{len(taken)} files, {summary['bytes'] / 1e6:.1f} MB (catalogue "
          f"{summary['database_bytes'] / 1e6:.1f} MB: {summary['revisions']} revisions, "
          f"{summary['history_rows']} history rows) laid out in "
          f"{time.perf_counter() - started:.1f} s", end="")

    backups, tars, restores, untars = [], [], [], []
    for round_ in range(ROUNDS):
        tarball = tmp_path / f"baseline-{round_}.tar.gz"
        seconds, _ = timed(["tar", "-czf", str(tarball), "-C", "/", "--null", "-T",
                            str(listing)])
        tars.append(seconds)
        seconds, answer = helper(old.layout_file, "backup")
        backups.append(seconds)
        # The same files as the baseline's: every one taken, nothing refused.
        assert (answer["files"], answer["skipped"]) == (len(taken), [])
        archive = old.backups / answer["name"]

        untarred = tmp_path / f"untarred-{round_}"
        untarred.mkdir()
        seconds, _ = timed(["tar", "-xzf", str(tarball), "-C", str(untarred)])
        untars.append(seconds)
        new = fresh_host(tmp_path / f"new-{round_}", monkeypatch)
        seconds, restored = helper(new.layout_file, "restore-backup", str(archive),
                                   "--identity-file", str(identity))
        restores.append(seconds)
        assert sum(restored["restored"].values()) == len(taken), restored
    assert_restored(old, new, summary)

    sealed = archive.stat().st_size
    print(f"\nbackup per round {[round(s, 2) for s in backups]} s, tar -czf "
          f"{[round(s, 2) for s in tars]} s; archive {sealed / 1e6:.1f} MB, tarball "
          f"{tarball.stat().st_size / 1e6:.1f} MB; restore-backup "
          f"{[round(s, 2) for s in restores]} s, tar -xzf {[round(s, 2) for s in untars]} s",
          end="")
    details = {"rounds": ROUNDS, "files": len(taken), "bytes": summary["bytes"],
               "catalogue_bytes": summary["database_bytes"], "revisions": summary["revisions"],
               "history_rows": summary["history_rows"], "archive_bytes": sealed,
               "tarball_bytes": tarball.stat().st_size,
               "load_average_1min": round(os.getloadavg()[0], 2)}
    keep(Figure(
        "restore-backup of that archive into a fresh root", statistics.median(restores), "s",
        baseline=statistics.median(untars), baseline_label="tar -xzf of the same files",
        details={**details, "seconds_per_round": [round(s, 3) for s in restores],
                 "baseline_seconds_per_round": [round(s, 3) for s in untars]}))
    figure = keep(Figure(
        f"backup of an appliance with {backup_host.SKILLS} skills (age-encrypted)",
        statistics.median(backups), "s", baseline=statistics.median(tars),
        baseline_label="tar -czf of the same files", goal_op="<=", goal=GOAL_S,
        details={**details, "seconds_per_round": [round(s, 3) for s in backups],
                 "baseline_seconds_per_round": [round(s, 3) for s in tars]}))
    assert figure.passed, figure.describe()

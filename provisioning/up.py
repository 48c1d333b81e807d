"""Build (or update) the appliance with one command, and say how to use it.

    python provisioning/up.py                  the local systemd test host (made, or reused)
    python provisioning/up.py --fresh          a new local host, from a fresh root file system
    python provisioning/up.py --target aws     an EC2 instance (provisioning/launch.yml first)
    python provisioning/up.py --restore FILE   a new host built from a backup (manage.py backup's
                                               archive); the identity that opens it comes from
                                               Ansible Vault (appliance_restore_identity):
                                               add -e @vault.yml --ask-vault-pass

Anything else on the command line goes to ansible-playbook (``-v``, ``-e name=value``, ...).

The local host is a Debian 12 system booted with systemd-nspawn (``provisioning/testhost.py``),
reached over SSH on a loopback port; it shares this machine's network, so its Caddy answers on
this machine's ports 80 and 443. The skills and the admin get names under ``.localhost``, which
browsers resolve to 127.0.0.1 by themselves, and certificates from Caddy's internal CA. The
appliance's code goes there as a wheelhouse built here (the host needs no package index).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "provisioning"))

import testhost  # noqa: E402 - provisioning/ is not a package

WHEELHOUSE = ROOT / "var" / "wheelhouse"
BUILDER = ROOT / "roles" / "appliance" / "files" / "build_wheelhouse.py"
DOMAIN = "appliance.localhost"
CADDY_ROOT_CA = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
# Where site.yml writes a generated password (a path, not a secret).
ADMIN_SECRET_PATH = "/root/appliance-admin-password"  # noqa: S105


def local_vars(**overrides) -> dict:
    """site.yml's variables for the local test host (the tests use them too)."""
    return {
        "appliance_target": "local",
        "appliance_domain": DOMAIN,
        "appliance_admin_hostname": "admin",
        "appliance_certificate_authority": "internal",
        # A local host: the admin's test console may sign requests the skills accept.
        "appliance_test_console": True,
        "skills_test_console": True,
        # Short-lived: no daily apt runs racing the playbook right after a boot.
        "base_apt_timers": False,
        # The host is reached as root by key (provisioning/testhost.py's access).
        "base_ssh_permit_root_login": "prohibit-password",
        **overrides,
    }


def restore_vars(archive: Path | None) -> dict:
    """site.yml's variable for ``--restore FILE`` (the appliance role restores it before the first
    apply); the identity is Vault's, never a command-line argument."""
    if archive is None:
        return {}
    path = archive.expanduser().resolve()
    if not path.is_file():
        raise SystemExit(f"up: --restore {archive}: no such file")
    return {"appliance_restore_from": str(path)}


def build_wheelhouse(dest: Path = WHEELHOUSE, source: Path = ROOT) -> dict:
    """The appliance's wheelhouse for the host (reused when the source has not changed)."""
    done = subprocess.run(
        [sys.executable, str(BUILDER), "--source", str(source), "--dest", str(dest),
         "--tarball", f"{dest}.tar"],
        capture_output=True, text=True,
    )
    if done.returncode:
        raise SystemExit(f"up: the wheelhouse could not be built:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else "ansible-playbook"


def playbook_command(inventory: Path | None, extra_vars: Path | None, args: list[str]) -> list[str]:
    command = [ansible_playbook(), str(ROOT / "provisioning" / "site.yml")]
    if inventory:
        command += ["-i", str(inventory)]
    if extra_vars:
        command += ["-e", f"@{extra_vars}"]
    return command + list(args)


def run_playbook(command: list[str], **kwargs) -> int:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    print(f"up: {shlex.join(command)}", flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False, **kwargs).returncode


def write_vars(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    return path


def copy_root_ca(host: testhost.TestHost) -> Path | None:
    """Caddy's internal root certificate, copied out of the guest next to the host's files."""
    done = host.run(["cat", CADDY_ROOT_CA])
    if done.returncode or "BEGIN CERTIFICATE" not in done.stdout:
        return None
    target = host.host_dir / "caddy-local-root.crt"
    target.write_text(done.stdout)
    return target


def describe_local(host: testhost.TestHost, root_ca: Path | None, host_dir: Path) -> str:
    ssh = shlex.join([*host.ssh_command(), "cat", ADMIN_SECRET_PATH])
    dir_arg = "" if host_dir == testhost.DEFAULT_DIR else f" --dir {host_dir}"
    lines = [
        "",
        "The appliance runs on the local test host.",
        "",
        f"  admin:     https://admin.{DOMAIN}/   (user admin)",
        f"  password:  in {ADMIN_SECRET_PATH} on the host:",
        f"             {ssh}",
        f"  skill:     https://memory-game.{DOMAIN}/   (the Memory Game)",
        "",
        "  Browsers resolve *.localhost to 127.0.0.1 by themselves; the host's Caddy listens on",
        "  this machine's ports 80 and 443.",
        "",
    ]
    if root_ca:
        lines += [
            "  The certificates come from Caddy's internal CA. Its root certificate, copied out of",
            f"  the host: {root_ca}",
            "  Trust it to open the addresses without a warning:",
            f"    this machine (curl, Python...):  sudo cp {root_ca} "
            "/usr/local/share/ca-certificates/appliance-local.crt && sudo update-ca-certificates",
            "    Firefox: Settings > Privacy & Security > Certificates > View Certificates >",
            "             Authorities > Import (trust it to identify websites)",
            "    Chromium/Chrome: Settings > Privacy and security > Security > Manage certificates",
            "             > Authorities > Import",
            f"    one command:  curl --cacert {root_ca} https://admin.{DOMAIN}/_health",
            "",
        ]
    lines += [
        f"  stop:      python provisioning/testhost.py down{dir_arg}",
        f"  start:     python provisioning/up.py{dir_arg}   (reuses the host)",
        f"  destroy:   python provisioning/testhost.py destroy{dir_arg}",
    ]
    return "\n".join(lines)


def up_local(args, playbook_args: list[str], restore: dict | None = None) -> int:
    started = time.monotonic()
    host_dir = args.dir.resolve()
    known = testhost.TestHost(host_dir, testhost.DEFAULT_PORT)._state().get("ssh_port")
    port = args.port or known or testhost.DEFAULT_PORT
    try:
        if args.fresh:
            testhost.TestHost(host_dir, port).destroy()
            testhost.ensure_rootfs(host_dir, fresh=True)
        host = testhost.boot(host_dir, port)
    except testhost.TestHostError as error:
        print(f"up: {error}", file=sys.stderr)
        return 1
    inventory = host.write_inventory(host_dir / "inventory.yml")
    booted = time.monotonic()
    print(f"up: the test host is up ({booted - started:.1f} s)", flush=True)

    wheels = build_wheelhouse(source=args.source.resolve())
    built = time.monotonic()
    print(f"up: wheelhouse {WHEELHOUSE} ({len(wheels['wheels'])} wheels, "
          f"{'built' if wheels['built'] else 'reused'}, {built - booted:.1f} s)", flush=True)

    extra = write_vars(host_dir / "site-vars.json",
                       local_vars(appliance_wheelhouse=str(WHEELHOUSE), **(restore or {})))
    code = run_playbook(playbook_command(inventory, extra, playbook_args))
    host.load_network_settings()
    print(f"up: site.yml took {time.monotonic() - built:.1f} s "
          f"(all in all {time.monotonic() - started:.1f} s)")
    if code:
        print(f"up: site.yml failed (status {code}); fix what it says and run this again: "
              "a rerun finishes the job", file=sys.stderr)
        return code
    print(describe_local(host, copy_root_ca(host), host_dir))
    return 0


def up_aws(playbook_args: list[str], restore: dict | None = None) -> int:
    # launch.yml (imported by site.yml) launches or finds the instance and adds it to the
    # inventory; its variables (aws_region, appliance_name...) come with -e or group_vars.
    # Last: an extra variable given later on the command line wins.
    restoring = ["-e", json.dumps(restore)] if restore else []  # JSON: a path may have spaces
    command = playbook_command(None, None, [*restoring, *playbook_args,
                                            "-e", "appliance_target=aws"])
    code = run_playbook(command)
    if code:
        print(f"up: site.yml failed (status {code})", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other arguments are passed to ansible-playbook.")
    parser.add_argument("--target", choices=["local", "aws"], default="local",
                        help="where to build the appliance (default: the local test host)")
    parser.add_argument("--fresh", action="store_true",
                        help="local: a new host from a fresh root file system")
    parser.add_argument("--port", type=int, default=None,
                        help=f"local: the host's ssh port on 127.0.0.1 (default "
                        f"{testhost.DEFAULT_PORT}, or the port the running host uses)")
    parser.add_argument("--dir", type=Path, default=testhost.DEFAULT_DIR,
                        help="local: the host's folder (default var/testhost)")
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="local: the project the wheelhouse is built from (default: this "
                        "repository)")
    parser.add_argument("--restore", type=Path, default=None, metavar="FILE",
                        help="build a new host from this backup (its identity from Vault: "
                        "appliance_restore_identity)")
    args, playbook_args = parser.parse_known_args(argv)
    restore = restore_vars(args.restore)  # before anything is booted or launched
    if args.target == "aws":
        return up_aws(playbook_args, restore)
    return up_local(args, playbook_args, restore)


if __name__ == "__main__":
    sys.exit(main())

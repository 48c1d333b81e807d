"""SysV init scripts, for hosts without systemd: POSIX sh around Debian's start-stop-daemon.

Every path comes from ``cat.paths``, so the same scripts run on a host and under a test's
temporary root. Exit codes follow LSB: status 0 running, 1 dead with a pid file, 3 stopped;
2 for an unknown action, 3 for one the script does not implement.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from .envfiles import admin_env_path, run_as, skill_cache_dir
from .snapshot import Catalogue, RenderedFile
from .systemd import ADMIN_REQUEST_TIMEOUT, skill_command

CADDY_USER = "caddy"  # made by Debian's caddy package, which also lets it bind 80 and 443
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class _Daemon:
    name: str
    description: str
    user: str
    daemon: str  # the executable, as start-stop-daemon matches it in /proc
    args: tuple[str, ...]
    chdir: str = ""
    env_file: str = ""  # sourced before the start (the admin: gunicorn reads no env file)
    own_dir: str = ""  # made and handed to the user first (systemd's CacheDirectory= does that)
    reload: tuple[str, ...] = ()  # a graceful reload command; none: reload is not implemented
    umask: str = ""  # skills: 077, as UMask= in their units; the admin and Caddy share files
    # HOST:PORT or a unix socket's path it listens on once started (start waits for it, not a
    # fixed 1 s)
    ready: str = ""


def _q(value: str) -> str:
    if _CONTROL_RE.search(value):
        raise ValueError(f"{value!r} cannot go into an init script")
    return shlex.quote(value)


def _script(cat: Catalogue, d: _Daemon) -> RenderedFile:
    paths = cat.paths
    if _CONTROL_RE.search(d.description):
        raise ValueError(f"{d.description!r} must be one line of text")
    chdir = f" --chdir {_q(d.chdir)}" if d.chdir else ""
    umask = f" --umask {d.umask}" if d.umask else ""
    start = [
        '\tstart-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" \\',
        f'\t\t--chuid "$RUN_AS"{umask} --output "$LOGFILE"{chdir} --exec "$DAEMON" -- \\',
        f"\t\t{' '.join(_q(a) for a in d.args)} || return 1",
    ]
    prepare = [f"\tset -a; . {_q(d.env_file)}; set +a"] if d.env_file else []
    if d.own_dir:
        prepare.append(f'\tmkdir -p {_q(d.own_dir)} && chown "$RUN_AS" {_q(d.own_dir)} || return 1')
    if d.reload:
        actions = "start|stop|restart|reload|force-reload|status"
        reload_function = [
            "do_reload() {",
            "\tis_running || { echo \"$NAME is not running\" >&2; return 7; }",
            f"\t{' '.join(_q(a) for a in d.reload)}",
            "}",
            "",
        ]
        reload_lines = ["reload|force-reload)", "\tdo_reload", "\t;;"]
    else:
        actions = "start|stop|restart|force-reload|status"
        reload_function = []
        reload_lines = [
            "reload)",
            "\techo \"$NAME cannot reload; use restart\" >&2",
            "\texit 3",
            "\t;;",
            "force-reload)",
            "\tdo_stop && do_start",
            "\t;;",
        ]
    lines = [
        "#!/bin/sh",
        "# Rendered by the appliance admin. Do not edit: changes are overwritten.",
        "### BEGIN INIT INFO",
        f"# Provides:          {d.name}",
        "# Required-Start:    $network $remote_fs",
        "# Required-Stop:     $network $remote_fs",
        "# Default-Start:     2 3 4 5",
        "# Default-Stop:      0 1 6",
        f"# Short-Description: {d.description}",
        "### END INIT INFO",
        "",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "export PATH",
        f"NAME={_q(d.name)}",
        f"DAEMON={_q(d.daemon)}",
        f"RUN_AS={_q(d.user)}",
        f"READY_ADDRESS={_q(d.ready)}",
        f"RUN_DIR={_q(paths.run_dir)}",
        f"LOG_DIR={_q(paths.log_dir)}",
        'PIDFILE="$RUN_DIR/$NAME.pid"',
        'LOGFILE="$LOG_DIR/$NAME.log"',
        "",
        "is_running() {",
        "\tstart-stop-daemon --status --pidfile \"$PIDFILE\" --exec \"$DAEMON\"",
        "}",
        "",
        "# Something listens on READY_ADDRESS: its unix socket exists, or its port is in the",
        "# kernel's TCP tables in state 0A.",
        "listening() {",
        "\tcase \"$READY_ADDRESS\" in",
        "\t/*) [ -S \"$READY_ADDRESS\" ] ;;",
        "\t*)",
        "\t\tREADY_PORT=$(printf '%04X' \"${READY_ADDRESS##*:}\")",
        "\t\tgrep -qs \":$READY_PORT [0-9A-F]*:0000 0A \" /proc/net/tcp /proc/net/tcp6",
        "\t\t;;",
        "\tesac",
        "}",
        "",
        "do_start() {",
        "\tmkdir -p \"$RUN_DIR\" \"$LOG_DIR\"",
        "\tif is_running; then",
        "\t\techo \"$NAME is already running\"",
        "\t\treturn 0",
        "\tfi",
        *prepare,
        *start,
        "\t# --background cannot report a failure after its fork. Started: it listens on its",
        "\t# port; failed: from 1 s on, it is gone. One that is slower but alive after 10 s",
        "\t# counts as started (the apply's health check has the last word).",
        "\ttries=0",
        "\twhile :; do",
        "\t\tsleep 0.1",
        "\t\ttries=$((tries + 1))",
        "\t\tlistening && break",
        "\t\t[ \"$tries\" -ge 10 ] && ! is_running && break",
        "\t\t[ \"$tries\" -ge 100 ] && break",
        "\tdone",
        "\tif ! is_running; then",
        "\t\techo \"$NAME failed to start; see $LOGFILE\" >&2",
        "\t\trm -f \"$PIDFILE\"",
        "\t\treturn 1",
        "\tfi",
        "\techo \"started $NAME\"",
        "}",
        "",
        "do_stop() {",
        "\tstart-stop-daemon --stop --quiet --oknodo --retry TERM/10/KILL/5 \\",
        "\t\t--pidfile \"$PIDFILE\" --exec \"$DAEMON\" --remove-pidfile || return 1",
        "\t# A stale pid file (the process died) is not removed by start-stop-daemon.",
        "\trm -f \"$PIDFILE\"",
        "\techo \"stopped $NAME\"",
        "}",
        "",
        *reload_function,
        "case \"$1\" in",
        "start)",
        "\tdo_start",
        "\t;;",
        "stop)",
        "\tdo_stop",
        "\t;;",
        "restart)",
        "\tdo_stop && do_start",
        "\t;;",
        *reload_lines,
        "status)",
        "\tis_running",
        "\tcode=$?",
        "\tcase $code in",
        "\t0) echo \"$NAME is running (pid $(cat \"$PIDFILE\"))\" ;;",
        "\t1) echo \"$NAME is dead but its pid file exists\" ;;",
        "\t*) echo \"$NAME is not running\" ;;",
        "\tesac",
        "\texit $code",
        "\t;;",
        "*)",
        f"\techo \"Usage: $0 {{{actions}}}\" >&2",
        "\texit 2",
        "\t;;",
        "esac",
    ]
    return RenderedFile(path=f"{paths.initd_dir}/{d.name}", content="\n".join(lines) + "\n",
                        mode=0o755, executable_check="sh")


def _daemons(cat: Catalogue) -> list[_Daemon]:
    host, paths = cat.host, cat.paths
    daemons = [
        _Daemon(
            name="caddy", description="Caddy web server (the appliance's HTTPS front)",
            user=CADDY_USER, daemon=paths.caddy,
            args=("run", "--config", paths.caddyfile, "--adapter", "caddyfile"),
            reload=(paths.caddy, "reload", "--config", paths.caddyfile, "--adapter",
                    "caddyfile", "--address", host.caddy_admin),
            # Its API listens once the config is loaded: a unix socket's path, or HOST:PORT.
            ready=host.caddy_admin.removeprefix("unix/"),
        ),
        # gunicorn's entry point is a script: /proc shows the interpreter, so that is what
        # start-stop-daemon must match.
        _Daemon(
            name="appliance-admin", description="Appliance admin (Django under gunicorn)",
            user=host.admin_user, daemon=paths.python,
            args=("-m", "gunicorn", "appliance.wsgi:application", "--bind",
                  f"127.0.0.1:{int(host.admin_port)}", "--workers", "2",
                  "--timeout", ADMIN_REQUEST_TIMEOUT, "--access-logfile", "-"),
            chdir=paths.data_dir, env_file=admin_env_path(cat),
            ready=f"127.0.0.1:{int(host.admin_port)}",
        ),
    ]
    for skill in cat.enabled_skills:
        # No --idle-exit: without socket activation nothing would start the skill again.
        command = skill_command(cat, skill, idle_exit=False)
        daemons.append(_Daemon(
            name=skill.unit, description=f"Alexa skill: {skill.name}", user=run_as(cat, skill),
            daemon=command[0], args=tuple(command[1:]), own_dir=skill_cache_dir(cat, skill),
            umask="077", ready=f"127.0.0.1:{int(skill.port)}",
        ))
    return daemons


def render_init_scripts(cat: Catalogue) -> list[RenderedFile]:
    """Caddy's, the admin's and one per enabled skill (a disabled skill has no script, so
    nothing at boot can start it). Sorted by path."""
    return sorted((_script(cat, d) for d in _daemons(cat)), key=lambda f: f.path)

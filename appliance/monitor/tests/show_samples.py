"""``systemctl show --property=Id,LoadState,ActiveState,SubState,MemoryCurrent,MemoryPeak,
CPUUsageNSec,NRestarts,ActiveEnterTimestampMonotonic,ExecMainStartTimestamp <units>`` as
systemd 252 (Debian 12) prints it with TZ=UTC: one block per unit in the bus's order, an empty
line between blocks; MemoryPeak is left out (systemd 252 has no such property), a value it does
not have is ``[not set]`` or empty. systemd does not run on this machine (it is not PID 1), so
these stand in for it."""

RUNNING = """\
Id=alexa-skill-memory-game.service
ActiveEnterTimestampMonotonic=5000000000
ExecMainStartTimestamp=Mon 2024-12-02 03:07:00 UTC
NRestarts=2
LoadState=loaded
ActiveState=active
SubState=running
MemoryCurrent=44040192
CPUUsageNSec=1520000000
"""

# Stopped: the cgroup is gone, so no memory or CPU figure.
STOPPED = """\
Id=alexa-skill-lazy.service
ActiveEnterTimestampMonotonic=0
ExecMainStartTimestamp=
NRestarts=0
LoadState=loaded
ActiveState=inactive
SubState=dead
MemoryCurrent=[not set]
CPUUsageNSec=[not set]
"""

# A unit systemd has no file for: loaded on demand by the name, as not-found.
NOT_FOUND = """\
Id=alexa-skill-gone.service
ActiveEnterTimestampMonotonic=0
ExecMainStartTimestamp=
NRestarts=0
LoadState=not-found
ActiveState=inactive
SubState=dead
MemoryCurrent=[not set]
CPUUsageNSec=[not set]
"""

# Between two tries of Restart=on-failure.
RESTARTING = """\
Id=alexa-skill-broken.service
ActiveEnterTimestampMonotonic=0
ExecMainStartTimestamp=Mon 2024-12-02 03:09:58 UTC
NRestarts=7
LoadState=loaded
ActiveState=activating
SubState=auto-restart
MemoryCurrent=[not set]
CPUUsageNSec=[not set]
"""

# systemd 254 and later know MemoryPeak.
WITH_PEAK = """\
Id=alexa-skill-memory-game.service
ActiveEnterTimestampMonotonic=5000000000
ExecMainStartTimestamp=Mon 2024-12-02 03:07:00 UTC
NRestarts=0
LoadState=loaded
ActiveState=active
SubState=running
MemoryCurrent=44040192
MemoryPeak=73400320
CPUUsageNSec=1520000000
"""

ALL = "\n".join([RUNNING, STOPPED, NOT_FOUND, RESTARTING])

"""Run one command and report its resource usage from a small parent (I/O).

    python bench/child_usage.py FD CMD [ARGS...]

Runs ``CMD`` (stdin, stdout and stderr inherited), waits for it with ``wait4`` and writes
one JSON line to the file descriptor ``FD``: its exit code, user + system CPU-seconds (with
those of its own waited-for children) and ``ru_maxrss`` in KiB; exits with its exit code.

Why a parent of its own: Linux starts a child's ``ru_maxrss`` at the memory of the process
that forked it (the address space it replaces at ``exec`` counts), so a command started
straight from a benchmark process that has grown to 1.7 GB reports 1.7 GB whatever it
used. This script is a few MiB when it forks, so the figure is the command's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    fd, cmd = int(argv[0]), argv[1:]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    report = {"returncode": code, "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(report) + "\n")
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

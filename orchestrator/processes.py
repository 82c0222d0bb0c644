"""Whether a process on this host is alive, by its id: the lease takes over a dead driver's sweep, and a trial's first
checkpoint removes the staging folders dead processes left behind."""
from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True while a process with this id exists on this host (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True

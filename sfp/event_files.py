"""Tensorboard event files that a resumed run's later sessions can trust.

Tensorboard reads a directory's event files in name order, and torch names one
`events.out.tfevents.<creation second>.<host>.<pid>.<n>`: two sessions of one run started within the same second are
read in the (textual) order of their process ids, which can put the later session first; its purge step then hides
nothing and the earlier session's events hide its rows. Waiting until the clock has passed the newest existing file's
second costs a resumed run at most one second and makes name order the order of the sessions.
"""

import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

EVENT_FILE_PREFIX = "events.out.tfevents."


def newest_event_second(directory: Path) -> int | None:
    """The creation second in the name of the newest event file in `directory`, or None when there is none."""
    seconds = [
        int(field)
        for path in directory.glob(f"{EVENT_FILE_PREFIX}*")
        if (field := path.name[len(EVENT_FILE_PREFIX) :].split(".")[0]).isdigit()
    ]
    return max(seconds, default=None)


def session_writer(directory: Path, purge_step: int | None = None) -> "SummaryWriter":
    """A SummaryWriter on `directory` whose event file sorts after every existing one; `purge_step` hides the events
    of earlier sessions from that step on (the steps a resumed run writes again)."""
    from torch.utils.tensorboard import SummaryWriter  # imported when a run first logs (tensorboard is slow to import)

    newest = newest_event_second(directory)
    if newest is not None and time.time() < newest + 1:
        time.sleep(newest + 1 - time.time())
    return SummaryWriter(str(directory), purge_step=purge_step)

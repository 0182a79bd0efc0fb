"""What a run folder's run is, one enumeration for every view (metrics.json's ``status`` field,
the Runs tab's filter, reports, the command line): a StrEnum, so it reads and writes as its word."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    RUNNING = "running"  # training in this process; never written to metrics.json
    COMPLETED = "completed"  # every epoch trained (or its time budget or patience ended it)
    STOPPED = "stopped"  # a stop was asked for: resumable
    DIVERGED = "diverged"  # the training loss blew up
    PRUNED = "pruned"  # a sweep's pruner stopped it
    FAILED = "failed"  # an error ended it; the message says which
    IMPORTED = "imported"  # weights trained elsewhere, scored here
    UNFINISHED = "unfinished"  # no metrics.json yet: killed, or still training elsewhere
    DAMAGED = "damaged"  # metrics.json unreadable or of the wrong shape

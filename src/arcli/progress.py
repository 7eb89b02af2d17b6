"""How long-running core operations say how far they have got.

The core never draws anything: it calls ``progress(stage, done, total)`` with plain
numbers, and the command line decides whether and how to show them (a bar on a terminal,
nothing in a cron log; see ``cli/common.stage_progress``). ``total`` is 0 for a stage
whose steps are not counted, or whose total is not known in advance.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


def unreported(stage: str, done: int, total: int) -> None:
    """Progress nobody asked for."""

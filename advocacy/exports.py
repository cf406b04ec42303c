"""The confirmed subscribers as a CSV export for the mailing tool, built by a task worker (background/exports.py)."""

import logging
from typing import TextIO

from advocacy import services

logger = logging.getLogger("advocacy.admin")


def write_subscribers(user, out: TextIO) -> int:
    count = services.subscribers_export_csv(out=out)
    logger.info("Staff user %s exported %d confirmed subscribers", user.pk, count)
    return count

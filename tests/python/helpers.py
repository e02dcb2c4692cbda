"""Small helpers shared by the tests."""

import re

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def plain(lines):
    """Traceback lines joined, without ANSI colours."""
    return ANSI.sub("", "\n".join(lines))

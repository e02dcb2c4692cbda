"""Small helpers shared by the tests."""

from parallel_cell._bootstrap import load_runtime

# The runtime's own stripper, so the tests and `jobs.traceback()` read tracebacks alike.
plain = load_runtime(register=False).api.plain_traceback

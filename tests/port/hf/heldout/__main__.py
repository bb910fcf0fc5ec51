"""`python -m tests.port.hf.heldout [family ...]`: port.compare on each held-out port, one table (see README.md)."""

import sys

from ..measure import table
from . import FAMILIES

print(table(__package__, tuple(sys.argv[1:]) or FAMILIES))

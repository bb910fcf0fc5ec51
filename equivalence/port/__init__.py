"""Check your own port: any PyTorch model against its Flax NNX twin, layer by layer (see docs/port.md)."""

from .compare import assert_equivalent, compare
from .copy import copy_weights, copy_weights_to_torch
from .errors import PortError
from .lint import Finding, lint
from .match import Pair, Pairing
from .order import pairing
from .report import Cause, Report, Row
from .rules import RULES, Rule, channels_first, channels_last, identity, register
from .weights import load

__all__ = [
           "RULES",
           "Cause",
           "Finding",
           "Pair",
           "Pairing",
           "PortError",
           "Report",
           "Row",
           "Rule",
           "assert_equivalent",
           "channels_first",
           "channels_last",
           "compare",
           "copy_weights",
           "copy_weights_to_torch",
           "identity",
           "lint",
           "load",
           "pairing",
           "register",
]

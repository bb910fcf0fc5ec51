"""Check your own port: any PyTorch model against its Flax NNX twin, layer by layer (see docs/port.md)."""

from .compare import assert_equivalent, compare
from .copy import copy_weights, copy_weights_to_torch
from .errors import PortError
from .lint import Finding, lint
from .report import Report
from .rules import RULES, Rule, channels_first, channels_last, identity, register

__all__ = ["Finding", "PortError", "RULES", "Report", "Rule", "assert_equivalent", "channels_first",
           "channels_last", "compare", "copy_weights", "copy_weights_to_torch", "identity", "lint", "register"]

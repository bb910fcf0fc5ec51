"""Held-out Hugging Face ports for evaluating equivalence.port on models its tests have not seen (not collected)."""

FAMILIES = ("mistral", "roberta", "deit")

"""Tests of the generated docs: exercises, notebooks, the chapters."""

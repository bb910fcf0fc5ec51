"""The checkout's own tools, never packaged: the docs generator (`python -m tools.docs`)."""

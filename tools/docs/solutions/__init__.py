"""The exercises' solutions, one module per stage: real code the guide shows and the tests run."""

"""Per stage: the pitfalls it meets first, the functions shown side by side, code shown from elsewhere."""

# Its table of new calls is prose: tools/docs/templates/calls.<lang>.md.

# The pitfalls each stage meets first (keys of templates/pitfalls.<lang>.md).
STAGE_PITFALLS: dict[str, list[str]] = {
    "manual": ["inplace", "float64", "tf32"],
    "autograd": ["no_grad", "accumulate"],
    "nn": ["layout", "init", "mse", "jit"],
    "optim": ["adam_step", "adam_bias", "adamw", "adam_state"],
    "module": ["rngs", "init"],
    "mlp": ["logits", "init", "jit"],
    "cnn": ["layout", "rngs", "bn_var"],
}

# The functions and classes that carry each stage's idea, shown side by side (the rest is linked).
KEY: dict[str, tuple[str, ...]] = {
    "manual": ("loss_and_grads", "train_step"),
    "autograd": ("loss_fn", "train_step"),
    "nn": ("build", "train_step"),
    "optim": ("adam", "_adam_chain", "train_step"),
    "module": ("MyOneLayerNet",),
    "mlp": ("MLP", "cross_entropy"),
    "cnn": ("CNN", "train_step"),
}

# Code from outside the stage files, shown where a stage first relies on it: (path, function).
SHOWN_WITH: dict[str, tuple[tuple[str, str], ...]] = {
    "nn": (("jaxnet/loop.py", "_scan"), ("jaxnet/loop.py", "scan_steps")),
}

"""XLA's private compile options are tried before use: one the running jaxlib does not know is left out, never fatal."""

from jaxnet import compiling


def test_an_option_this_xla_does_not_know_is_left_out_and_the_known_ones_kept(monkeypatch):
    monkeypatch.setattr(compiling, "FAST_CPU_OPTIONS",
                        {"xla_backend_optimization_level": 0, "xla_no_such_option_anywhere": True})
    compiling.fast_options.cache_clear()
    try:
        assert compiling.fast_options() == {"xla_backend_optimization_level": 0}
        assert float(compiling.fast_jit(lambda v: v * 2)(3.0)) == 6.0
    finally:
        compiling.fast_options.cache_clear()

"""Our own code calling a deprecated API fails the suite (pyproject.toml's filterwarnings); others' warnings do not."""

import warnings

import pytest


@pytest.mark.parametrize("module", ["jaxnet.train", "equivalence.port.compare", "training", "netdata.files"])
@pytest.mark.parametrize("category", [DeprecationWarning, FutureWarning])
def test_a_deprecation_warning_from_our_own_module_is_an_error(module, category):
    with pytest.raises(category):
        warnings.warn_explicit("jax.sharding.SingleDeviceSharding is deprecated", category, "x.py", 1, module=module)


def test_a_deprecation_warning_from_a_library_stays_a_warning():
    with pytest.warns(DeprecationWarning):
        warnings.warn_explicit("deprecated", DeprecationWarning, "x.py", 1, module="jax._src.deprecations")
    with pytest.warns(DeprecationWarning):
        warnings.warn_explicit("deprecated", DeprecationWarning, "x.py", 1, module="jaxnetwork")

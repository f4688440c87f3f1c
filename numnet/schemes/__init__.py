"""Linear multistep and Runge–Kutta schemes as exact symbolic objects.

Everything here is sympy + numpy: importing it never loads torch or matplotlib.

>>> from numnet import schemes
>>> rk4 = schemes.get("rk4")
>>> rk4.order, rk4.imaginary_stability_interval()
(4, 2*sqrt(2))
>>> lm = schemes.get("lm_resnet")
>>> lm.zero_stability_condition()
Interval.Lopen(-1, 1)
"""

from .base import XI, Z, Scheme
from .catalog import (
    adams_bashforth,
    adams_moulton,
    adams_net,
    bdf,
    catalog,
    gauss_legendre,
    lm_resnet,
    lobatto_iiia,
    lobatto_iiib,
    lobatto_iiic,
    milne_simpson,
    nystrom,
    radau_iia,
    rk2_family,
)
from .interop import from_nodepy, to_nodepy
from .linear import modified_linear_rate, principal_root_series
from .lmm import LinearMultistep
from .modified import modified_equation
from ._exact import is_zero
from .registry import as_scheme, get, names
from .rk import RungeKutta
from .trees import forest

__all__ = [
    "XI", "Z", "Scheme", "LinearMultistep", "RungeKutta", "forest", "get", "names", "catalog", "as_scheme", "is_zero",
    "adams_bashforth", "adams_moulton", "adams_net", "bdf", "nystrom", "milne_simpson", "lm_resnet",
    "gauss_legendre", "radau_iia", "lobatto_iiia", "lobatto_iiib", "lobatto_iiic", "rk2_family",
    "modified_equation", "modified_linear_rate", "principal_root_series", "to_nodepy", "from_nodepy",
]

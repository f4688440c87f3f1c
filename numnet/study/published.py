"""Published test errors, as data with their sources — never mixed into numnet's figures.

:data:`PUBLISHED` holds, per model of the papers' tables, the CIFAR-10 test error (%) at
each depth and where it was published. Yan (2019), Table 1, sets the Adams nets beside
ResNet and LM-ResNet, quoting the first two rows: the ResNet errors are He et al.
(2016a)'s (Table 6, post-activation ResNet, numnet's ``resnet_postact``), the LM-ResNet
errors Lu et al. (2018)'s (Table 1). "(A)": learnable Adams weights, "(B)": fixed
Adams–Bashforth weights.

>>> PUBLISHED["lm_resnet"].errors[56], PUBLISHED["lm_resnet"].source
(6.31, 'Lu et al. (2018), Table 1 (quoted in Yan 2019, Table 1)')
>>> [m.label for m in PUBLISHED.values()]
['ResNet', 'LM-ResNet', 'Adams k=2 (A)', 'Adams k=2 (B)', 'Adams k=3 (A)', 'Adams k=3 (B)']
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER_DATA = "cifar10"
"""The data set of every published value here."""

PAPER_DEPTHS = (20, 32, 44, 56)
"""The depths (columns) of the papers' table."""


@dataclass(frozen=True)
class Published:
    """One row of a paper's table: numnet's architecture spec (:mod:`numnet.study.grid`),
    the paper's name for it, the test error (%) by depth and the citation."""

    arch: str
    label: str
    errors: dict
    source: str


def _row(arch, label, errors, source):
    return arch, Published(arch, label, dict(zip(PAPER_DEPTHS, errors)), source)


PUBLISHED = dict([
    _row("resnet_postact", "ResNet", (8.75, 7.51, 7.17, 6.97),
         "He et al. (2016a), Table 6 (quoted by Lu et al. 2018 and Yan 2019, Table 1)"),
    _row("lm_resnet", "LM-ResNet", (8.33, 7.18, 6.66, 6.31),
         "Lu et al. (2018), Table 1 (quoted in Yan 2019, Table 1)"),
    _row("adams2_learnable", "Adams k=2 (A)", (8.15, 7.31, 6.75, 6.44), "Yan (2019), Table 1"),
    _row("adams2", "Adams k=2 (B)", (7.81, 7.49, 6.90, 6.71), "Yan (2019), Table 1"),
    _row("adams3_learnable", "Adams k=3 (A)", (8.27, 7.39, 7.02, 6.36), "Yan (2019), Table 1"),
    _row("adams3", "Adams k=3 (B)", (8.02, 7.54, 7.14, 6.97), "Yan (2019), Table 1"),
])
"""Architecture spec → :class:`Published` row (CIFAR-10 test error %, by depth)."""

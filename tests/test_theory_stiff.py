"""theory/stiff-solvers.md: every sympy block runs (the formulas are asserted inside them)."""

import pytest

import theory_blocks


@pytest.mark.parametrize("block", theory_blocks.params("theory/stiff-solvers.md"))
def test_block(block):
    theory_blocks.run(block)

"""theory/multiscale.md: every sympy block runs (the formulas are asserted inside them)."""

import pytest

import theory_blocks


@pytest.mark.parametrize("block", theory_blocks.params("theory/multiscale.md"))
def test_block(block):
    theory_blocks.run(block)

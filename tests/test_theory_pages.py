"""Every theory/*.md page: each display formula is followed by a checked sympy block,
and the reader notices one that is not."""

from pathlib import Path

import pytest

import theory_blocks

PAGES = sorted(p.name for p in (theory_blocks.ROOT / "theory").glob("*.md"))


def test_the_pages_are_there():
    assert {"architectures.md", "modified-equations.md", "reversible-stability.md", "multiscale.md"} <= set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_every_formula_is_checked(page):
    assert theory_blocks.unchecked_formulas(f"theory/{page}") == []
    assert len(theory_blocks.blocks(f"theory/{page}")) >= 10


def test_the_checker_notices_a_formula_without_a_block(tmp_path, monkeypatch):
    monkeypatch.setattr(theory_blocks, "ROOT", tmp_path)
    (tmp_path / "doc.md").write_text(
        "# A\n$$ a = b $$\n```sympy name=one\nassert 1 + 1 == 2\n```\n"
        "$$\nc = d\n$$\n# B\n```python\n# not a heading\n```\n$$ e $$\n")
    assert theory_blocks.unchecked_formulas("doc.md") == [6, 13]
    (block,) = theory_blocks.blocks("doc.md")
    assert block.name == "one" and block.line == 4
    with pytest.raises(AssertionError):
        theory_blocks.run(theory_blocks.Block("sympy", "bad", "assert 1 == 2", Path(tmp_path / "doc.md"), 1))
    (tmp_path / "two.md").write_text("```sympy name=x\n1 +\n```\n```sympy name=x\n2\n```\n")
    with pytest.raises(ValueError, match="duplicate block names"):
        theory_blocks.formulas("two.md")
    (tmp_path / "bad.md").write_text("```sympy name=x\n1 +\n```\n")
    with pytest.raises(ValueError, match="block 'x' is not a sympy expression"):
        theory_blocks.formulas("bad.md")

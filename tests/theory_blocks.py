"""The one reader of the checkable blocks of the theory documents (``theory/*.md``).

A document states each formula in display math (``$$ ... $$``) and follows it with a
fenced block tagged ```` ```sympy name=some_name ````. A block is used in one of two ways:

- as code (theory/multiscale.md): it computes the formula and ``assert`` s it against
  numnet; :func:`run` executes it in a fresh namespace, tracebacks pointing into the
  document::

      @pytest.mark.parametrize("block", theory_blocks.params("theory/x.md"))
      def test_block(block):
          theory_blocks.run(block)

- as a formula (the other pages): it holds one sympy expression (``a*b*h**2 < 4``,
  ``Interval.open(0, 2)``, a ``Matrix``), which the test computes with numnet and compares:
  :func:`formulas` parses every block, :func:`same` compares, :func:`texts` gives the raw
  text for pages that parse with their own symbols.

:func:`unchecked_formulas` lists display formulas that no block follows, so a document
cannot state a formula without a check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
_FENCE = re.compile(r"^```(?P<lang>\w*)(?P<attrs>(?:[ \t]+\w+=\S+)*)[ \t]*$")
_CLOSE = re.compile(r"^```[ \t]*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, ``name=`` attribute, code and position."""

    lang: str
    name: str | None
    code: str
    path: Path
    line: int          # 1-based line of the first code line


def _parse(path: Path) -> tuple[list[Block], list[tuple[int, str]]]:
    """Blocks and, in document order, the items that matter for coverage:
    ``(line, "formula")`` for a display formula, ``(line, "check")`` for a sympy block,
    ``(line, "heading")`` for a markdown heading."""
    lines = path.read_text().splitlines()
    blocks, items, i = [], [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m:
            attrs = dict(a.split("=", 1) for a in m["attrs"].split())
            j = i + 1
            while j < len(lines) and not _CLOSE.match(lines[j]):
                j += 1
            if j == len(lines):
                raise ValueError(f"{path}:{i + 1}: code block never closed")
            blocks.append(Block(m["lang"], attrs.get("name"), "\n".join(lines[i + 1:j]), path, i + 2))
            if m["lang"] == "sympy":
                items.append((i + 1, "check"))
            i = j + 1
            continue
        if lines[i].startswith("#"):
            items.append((i + 1, "heading"))
        if lines[i].strip().startswith("$$"):
            items.append((i + 1, "formula"))
            j = i if lines[i].strip().endswith("$$") and lines[i].strip() != "$$" else i + 1
            while j < len(lines) and not lines[j].strip().endswith("$$"):
                j += 1
            i = j + 1
            continue
        i += 1
    return blocks, items


def blocks(path, lang: str = "sympy") -> list[Block]:
    """The ``lang`` blocks of the document at ``path`` (relative to the repository root)."""
    found = [b for b in _parse(ROOT / path)[0] if b.lang == lang]
    names = [b.name for b in found]
    missing = [b.line for b in found if not b.name]
    if missing:
        raise ValueError(f"{path}: {lang} blocks without name= at lines {missing}")
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate block names {sorted({n for n in names if names.count(n) > 1})}")
    return found


def unchecked_formulas(path) -> list[int]:
    """Lines of display formulas that no sympy block follows within the same section
    (a run of formulas may share the block after them)."""
    out, pending = [], []
    for line, kind in _parse(ROOT / path)[1]:
        if kind == "formula":
            pending.append(line)
        elif kind == "check":
            pending = []
        else:                       # a heading closes the section
            out += pending
            pending = []
    return out + pending


def params(path, lang: str = "sympy"):
    """``pytest.param`` per block, with the block's name as id."""
    import pytest

    return [pytest.param(b, id=b.name) for b in blocks(path, lang)]


def run(block: Block) -> dict:
    """Execute ``block`` in a fresh namespace and return the namespace."""
    namespace = {"__name__": f"theory_{block.name}"}
    code = "\n" * (block.line - 1) + block.code       # tracebacks give document lines
    exec(compile(code, str(block.path), "exec"), namespace)
    return namespace


def texts(path) -> dict:
    """``{name: text}`` of the sympy blocks of ``path``, in document order."""
    return {b.name: b.code.strip() for b in blocks(path)}


_NAMESPACE = {name: getattr(sp, name) for name in ("Matrix", "Interval", "FiniteSet", "EmptySet", "Union",
                                                   "Max", "Min", "Abs", "sqrt", "sin", "cos", "I", "oo",
                                                   "Rational", "And", "Or", "Eq")}


def formulas(path) -> dict:
    """``{name: sympy object}``: every sympy block of ``path`` read as one expression.
    An unparsable block raises ``ValueError`` naming it."""
    out = {}
    for b in blocks(path):
        try:
            out[b.name] = sp.parse_expr(b.code.strip(), local_dict=dict(_NAMESPACE), evaluate=True)
        except (SyntaxError, TypeError, sp.SympifyError) as exc:
            raise ValueError(f"{b.path}:{b.line}: block {b.name!r} is not a sympy expression: {b.code!r}") from exc
    return out


def _aligned(doc, value):
    """``doc`` with each symbol replaced by ``value``'s symbol of the same name, so that
    numnet's assumptions (h > 0, …) apply to the page's formula too."""
    theirs = {s.name: s for s in getattr(value, "free_symbols", set())}
    ours = getattr(doc, "free_symbols", set())
    return doc.xreplace({s: theirs[s.name] for s in ours if s.name in theirs}) if ours else doc


def same(doc, value) -> bool:
    """Whether a formula from a page and a value from numnet are the same mathematical
    object (symbols matched by name, taking numnet's assumptions)."""
    value = sp.sympify(value)
    doc = _aligned(sp.sympify(doc), value)
    if isinstance(doc, sp.MatrixBase) or isinstance(value, sp.MatrixBase):
        return (isinstance(doc, sp.MatrixBase) and isinstance(value, sp.MatrixBase)
                and doc.shape == value.shape and sp.simplify(doc - value).is_zero_matrix)
    if isinstance(doc, sp.Set) or isinstance(value, sp.Set):
        return doc == value
    if isinstance(doc, sp.Rel) or isinstance(value, sp.Rel):
        if type(doc) is not type(value):
            return False
        return sp.simplify((doc.lhs - doc.rhs) - (value.lhs - value.rhs)) == 0
    if isinstance(doc, sp.logic.boolalg.Boolean) or isinstance(value, sp.logic.boolalg.Boolean):
        return doc == value
    return sp.simplify(doc - value) == 0

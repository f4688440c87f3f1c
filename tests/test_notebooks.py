"""The notebooks: stored without outputs, and executed end to end in quick mode.

Each notebook names the numnet layers it needs in its metadata (``numnet.requires``) and
any further API it relies on (``numnet.needs``, dotted paths); a notebook whose layers or
API are not there yet is skipped with their names, never run against stand-ins.
"""

import importlib
import os
from pathlib import Path

import nbformat
import pytest

from numnet.study.wiring import missing_layers

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_three_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03"]


def _exists(dotted: str) -> bool:
    """Whether ``package.module.Attr.attr`` resolves."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_needs_are_checked():
    assert _exists("numnet.study.spectra.block_spectra") and not _exists("numnet.study.spectra.nothing_here")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert set(nb.metadata["numnet"]["requires"]) <= {"modified", "solvers", "nets", "train", "data"}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_in_quick_mode(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    gone = missing_layers(*nb.metadata["numnet"]["requires"])
    if gone:
        pytest.skip(f"needs numnet layers not installed yet: {', '.join(gone)}")
    absent = [name for name in nb.metadata["numnet"].get("needs", []) if not _exists(name)]
    if absent:
        pytest.skip(f"needs API not in numnet yet: {', '.join(absent)}")
    monkeypatch.setenv("NUMNET_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    figures = [c for c in nb.cells if "figure" in c.metadata.get("tags", [])]
    assert figures or path.stem.startswith("01"), "a notebook that plots tags its figure cells 'figure'"
    for cell in figures:  # the figure itself is shown, not its repr
        kinds = [set(o.get("data", {})) for o in cell.outputs]
        assert any("image/png" in k for k in kinds), (path.stem, cell.source[-80:], cell.outputs)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    bare = [o for o in outputs if str(o.get("data", {}).get("text/plain", "")).startswith("<Figure size")
            and "image/png" not in o.get("data", {})]
    assert not bare, f"figures shown as their repr, not as images: {bare}"
    text = " ".join(str(o.get("text", "")) for o in outputs)
    assert "IProgress not found" not in text, "progress bars must work in a plain kernel"

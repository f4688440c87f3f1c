"""Execute the notebooks and keep the executed copies (with their figures) here.

    PYTHONPATH=. python docs/notebooks/render.py            # 01 and 02 in full, 03 in quick mode
    PYTHONPATH=. python docs/notebooks/render.py --full 03  # 03 in full too (about 30 CPU-minutes)

The notebooks under notebooks/ stay stored without outputs (a test checks that); these
copies are what a reader sees without running anything. Notebook 03's full mode trains 5
nets x 3 seeds x 3 epochs on 20,000 Fashion-MNIST images; its quick mode trains on the
small synthetic task, and the copy says which mode made it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
QUICK_BY_DEFAULT = {"03"}


def render(path: Path, quick: bool, out_dir: Path) -> Path:
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if quick:
        env["NUMNET_QUICK"] = "1"
    else:
        env.pop("NUMNET_QUICK", None)
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=3600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    nb.metadata.setdefault("numnet", {})["rendered"] = "quick mode (synthetic data)" if quick else "full mode"
    target = out_dir / path.name
    from numnet.fileio import write_text

    write_text(target, nbformat.writes(nb))
    return target


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", nargs="*", default=[], help="notebook numbers to run in full mode (default: 01, 02)")
    p.add_argument("--only", nargs="*", default=None, help="notebook numbers to render (default: all)")
    args = p.parse_args(argv)
    out = Path(__file__).resolve().parent
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        number = path.name[:2]
        if args.only is not None and number not in args.only:
            continue
        quick = number in QUICK_BY_DEFAULT and number not in args.full
        print(f"{path.name}: {'quick' if quick else 'full'} mode ...", file=sys.stderr, flush=True)
        print(render(path, quick, out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

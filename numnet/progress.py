"""One progress bar for every long numnet job: a text bar in a terminal, a widget bar in
Jupyter when ``ipywidgets`` is installed, a text bar in any other kernel (never the
``TqdmWarning: IProgress not found`` that ``tqdm.auto`` gives there).

>>> import io
>>> with progress(total=3, file=io.StringIO()) as bar:
...     _ = bar.update(3)
>>> type(bar).__module__, bar.n          # outside a Jupyter kernel: the plain text bar
('tqdm.std', 3)
"""

from __future__ import annotations

import importlib.util
import sys


def progress(iterable=None, **options):
    """``tqdm(iterable, **options)`` of the right kind for where numnet runs."""
    return _tqdm_class()(iterable, **options)


def _tqdm_class():
    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm

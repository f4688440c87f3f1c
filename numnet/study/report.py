"""The report: everything numnet claims, rebuilt on this machine into one folder.

``numnet report --out report/`` writes ``report/report.md`` (and PNG figures beside it):

1. **schemes** — the catalog table (:func:`numnet.schemes.table.catalog_rows`) and the
   stability regions of the main families;
2. **verify** — each scheme integrated and its observed order checked against its
   symbolic order on two test problems with scipy references (``numnet.solvers.verify``;
   ``numnet verify`` does the whole catalog);
3. **train** — a small study (:func:`numnet.study.study`): scheme nets trained briefly
   on Fashion-MNIST, their test error beside their scheme's properties, and the learned
   LM-ResNet coefficients against the zero-stability band and the stability regions.

Each part runs only if the layers it needs are installed (and the data is found); a
part that cannot run says so in the report, never with made-up numbers. The command
exits non-zero only when a part the user asked for by name (``--parts``) could not run.
Finished training runs live under ``report/study/`` and are reused by the next call.
"""

from __future__ import annotations

import datetime
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from numnet.fileio import atomic_write
from .wiring import missing_layers

PARTS = ("schemes", "verify", "train")

NET_SCHEMES = ("euler", "heun", "rk4", "ab2", "ab3")
"""The concrete schemes the default nets compile (ResNet, RK2/RK4 nets, Adams nets)."""

PRESETS = {
    "quick": {"archs": ("resnet", "lm_resnet", "adams2_learnable", "heun"), "depths": (20,), "seeds": (0,),
              "epochs": 1, "train_size": 2000, "batch_size": 128, "spectra": 2, "verify": NET_SCHEMES},
    "default": {"archs": ("resnet", "lm_resnet", "adams2", "adams2_learnable", "heun"), "depths": (20,),
                "seeds": (0,), "epochs": 2, "train_size": 10000, "batch_size": 128, "spectra": 4,
                "verify": NET_SCHEMES + ("backward_euler", "implicit_midpoint", "gauss2", "bdf2", "am2")},
    "full": {"archs": ("resnet_postact", "resnet", "lm_resnet", "adams2", "adams2_learnable", "adams3",
                       "adams3_learnable", "heun"),
             "depths": (20, 32, 44, 56), "seeds": (0, 1, 2), "epochs": None, "train_size": None,
             "batch_size": None, "spectra": 8, "verify": None},
}
"""Grid and effort per mode: ``quick`` (a couple of minutes on a CPU), ``default`` (minutes on
a laptop CPU), ``full`` (the paper grid: 160 epochs, four depths, three seeds; for GPUs).
``verify: None`` means the whole catalog. Depths are 6n+2 with n odd: the RK2 (Heun) net
spends two blocks per step after each stage's entry block, so n − 1 must be even (110,
n = 18, does not split)."""

REGION_GROUPS = {
    "explicit Runge–Kutta": ("euler", "heun", "kutta3", "rk4"),
    "Adams–Bashforth": ("ab1", "ab2", "ab3", "ab4"),
    "BDF (stable outside the curves)": ("bdf1", "bdf2", "bdf3", "bdf4"),
}


@dataclass
class Section:
    """One part of the report: ``status`` is ``ok``, ``missing`` (a layer or the data is
    not there) or ``failed`` (it ran and something did not hold)."""

    part: str
    title: str
    status: str
    body: str
    files: list = field(default_factory=list)
    seconds: float = 0.0

    def markdown(self) -> str:
        flag = {"ok": "", "missing": " — not run", "failed": " — FAILED"}[self.status]
        return f"## {self.title}{flag}\n\n{self.body.strip()}\n"


def write_text(path: Path, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def missing_section(part: str, title: str, what: str) -> Section:
    return Section(part, title, "missing", f"**Not run:** {what}")


# -- the parts ----------------------------------------------------------------------------------
def schemes_part(out: Path, settings: dict, progress: bool) -> Section:
    """The catalog table and the stability regions of the main families."""
    from numnet import plots
    from numnet.schemes.table import catalog_rows, format_table

    rows = catalog_rows()
    write_text(out / "schemes.md", format_table(rows, fmt="markdown") + "\n")
    fig = out / "stability_regions.png"
    plots.region_panels(REGION_GROUPS, path=fig)
    body = (f"{len(rows)} schemes; every property derived from the exact coefficients "
            f"(`numnet schemes` prints the same table).\n\n"
            + format_table(rows, fmt="markdown")
            + f"\n\n![stability regions]({fig.name})\n")
    return Section("schemes", "Schemes: properties derived from the coefficients", "ok", body, [out / "schemes.md", fig])


def verify_part(out: Path, settings: dict, progress: bool) -> Section:
    """Observed against symbolic order for the preset's schemes (``numnet.solvers.verify``)."""
    title = "Verification against scipy"
    if missing_layers("solvers"):
        return missing_section("verify", title, "the solvers layer (`numnet.solvers`) is not installed, so the "
                                                "schemes were not integrated or compared with scipy.")
    from numnet.schemes import catalog, get
    from numnet.schemes.table import format_table
    from numnet.solvers import verify

    names = settings["verify"]
    items = catalog() if names is None else [get(n) for n in names]
    results = [verify(s) for s in _bar(items, progress, "verify")]  # numnet.solvers.Verification
    rows = [v.row() for v in results]
    ok = all(v.passed for v in results)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    table = format_table(rows, columns=columns, fmt="markdown")
    write_text(out / "verify.md", table + "\n")
    return Section("verify", title, "ok" if ok else "failed", table, [out / "verify.md"])


def train_part(out: Path, settings: dict, progress: bool, *, data: str = "fashion_mnist", data_root=None,
               device: str = "auto") -> Section:
    """A small study on real data; the table and the learned-coefficient figures."""
    from . import study
    from .wiring import load_data, make_recipe

    title = f"Scheme nets trained on {data}"
    gone = missing_layers("nets", "train", "data")
    if gone:
        return missing_section("train", title, "the " + ", ".join(f"`numnet.{g}`" for g in gone)
                               + " layer(s) are not installed, so no network was trained.")
    from numnet.data import DataNotFoundError

    try:
        splits = load_data(data, root=data_root)
    except DataNotFoundError as e:
        return missing_section("train", title, f"the data set was not found.\n\n```\n{e}\n```")
    if settings["train_size"] and settings["train_size"] < len(splits.train):  # the preset's cap
        splits = splits.limit_train(settings["train_size"])
    recipe = make_recipe(None, data, settings["epochs"], settings["batch_size"])
    folder = out / "study"
    rows = study(settings["archs"], settings["depths"], settings["seeds"], folder, data=splits, recipe=recipe,
                 spectra_samples=settings["spectra"], progress=progress,
                 train_options={"device": device, "progress": progress})
    from .table import markdown

    from .records import load_records

    no_spectra = settings["spectra"] and any(r.get("spectra") is None for r in load_records(folder))
    figures = sorted(folder.glob("*.png"))
    learned = [f for f in figures if f.name.startswith("learned_")]
    others = [f for f in figures if f not in learned]
    body = [f"{len(splits.train)} training images, recipe `{recipe.name}` for {recipe.epochs} epoch(s) "
            f"(batch {recipe.batch_size}, lr {recipe.lr}), seeds {list(settings['seeds'])}; test error on the "
            f"{len(splits.test)} test images after the last epoch. Short runs: the numbers show the pipeline "
            f"working, not converged accuracies (`--full` runs the paper's recipe).\n",
            markdown(rows),
            "Properties of a family with free symbols (LM-ResNet's k, a learnable Adams b1) are those of the "
            "learned per-block schemes: order and stability interval over every learned block (the interval "
            "is the one all blocks share).\n"]
    if no_spectra:
        body.append("Jacobian spectra: not drawn for some runs — their model has no `residual_branches()`, so "
                    "the study cannot tell which module is each step's vector field.\n")
    body += [f"![{f.stem}](study/{f.name})\n" for f in learned + others]
    return Section("train", title, "ok", "\n".join(body), [folder / "table.md", *figures])


# -- the whole report ------------------------------------------------------------------------
def build_report(out, *, mode: str = "default", parts=None, data: str = "fashion_mnist", data_root=None,
                 device: str = "auto", progress: bool = True, argv=None) -> tuple:
    """Write ``out/report.md`` with the requested parts (default: all). Returns
    ``(sections, exit_code)``: 1 when a part named in ``parts`` could not run or failed."""
    if mode not in PRESETS:
        raise ValueError(f"mode must be one of {sorted(PRESETS)}, got {mode!r}")
    explicit = parts is not None
    parts = list(PARTS if parts is None else parts)
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise ValueError(f"parts must be among {', '.join(PARTS)}, got {parts}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = PRESETS[mode]
    runners = {
        "schemes": lambda: schemes_part(out, settings, progress),
        "verify": lambda: verify_part(out, settings, progress),
        "train": lambda: train_part(out, settings, progress, data=data, data_root=data_root, device=device),
    }
    sections = []
    for part in parts:
        t0 = time.perf_counter()
        sec = runners[part]()
        sec.seconds = time.perf_counter() - t0
        sections.append(sec)
        _say(f"report: {part}: {sec.status} ({sec.seconds:.0f} s)")
    write_text(out / "report.md", _document(sections, mode, argv))
    failed = [s for s in sections if s.status != "ok"]
    return sections, (1 if explicit and failed else 0)


def _document(sections, mode, argv) -> str:
    import numpy
    import sympy

    import numnet

    versions = [f"numnet {numnet.__version__}", f"Python {platform.python_version()}", f"sympy {sympy.__version__}",
                f"numpy {numpy.__version__}"]
    if "torch" in sys.modules:
        import torch

        versions.append(f"torch {torch.__version__}" + (" (CUDA)" if torch.cuda.is_available() else " (CPU)"))
    cmd = "numnet report " + " ".join(shlex.quote(a) for a in argv) if argv is not None else "build_report(...)"
    head = [
        "# numnet report\n",
        f"Built by `{cmd}` ({mode} mode) on {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
        f"{platform.machine()} {platform.system()}; {', '.join(versions)}.\n",
        "| part | status | time |", "|---|---|---|",
        *[f"| {s.title} | {s.status} | {s.seconds:.0f} s |" for s in sections], "",
    ]
    return "\n".join(head) + "\n" + "\n".join(s.markdown() for s in sections)


def _bar(items, on, desc):
    if not on:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, file=sys.stderr)


def _say(text):
    print(text, file=sys.stderr, flush=True)

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
Training runs live under ``report/study/<mode>/`` (one folder per mode: ``quick``,
``default``, ``full`` train under different settings): the next call reuses the finished
ones and resumes an interrupted one from its checkpoint. A record made under other
settings (another ``--data``, another numnet version) is refused with the differing keys,
never reported as if it were this call's (:class:`numnet.study.runner.StaleRecord`).
"""

from __future__ import annotations

import datetime
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from numnet.fileio import write_text
from .wiring import missing_layers

PARTS = ("schemes", "verify", "train")

NET_SCHEMES = ("euler", "heun", "rk4", "ab2", "ab3")
"""The concrete schemes the default nets compile (ResNet, RK2/RK4 nets, Adams nets)."""

PRESETS = {
    "quick": {"archs": ("resnet", "lm_resnet", "adams2_learnable", "heun"), "depths": (20,), "seeds": (0,),
              "epochs": 1, "train_size": 2000, "batch_size": 128, "spectra": 2, "verify": NET_SCHEMES,
              "img_s": 500},
    "default": {"archs": ("resnet", "lm_resnet", "adams2", "adams2_learnable", "heun"), "depths": (20,),
                "seeds": (0,), "epochs": 2, "train_size": 10000, "batch_size": 128, "spectra": 4,
                "verify": None, "img_s": 500},
    "full": {"archs": ("resnet_postact", "resnet", "lm_resnet", "adams2", "adams2_learnable", "adams3",
                       "adams3_learnable", "heun"),
             "depths": (20, 32, 44, 56), "seeds": (0, 1, 2), "epochs": None, "train_size": None,
             "batch_size": None, "spectra": 8, "verify": None, "img_s": 5000},
}
"""Grid and effort per mode: ``quick`` (65 s measured on 2 idle CPU cores), ``default``
(266 s on 2 idle cores, 9 minutes on 2 shared ones: every catalog scheme verified, five
depth-20 nets trained for 2 epochs on 10,000 images), ``full`` (the paper grid: 160 epochs, four depths, three
seeds; for GPUs). ``verify: None`` means the whole catalog. ``img_s`` is the training
speed the progress bar's first estimate assumes (it corrects itself as runs finish).
Depths are 6n+2 with n odd: the RK2 (Heun) net spends two blocks per step after each
stage's entry block, so n − 1 must be even (110, n = 18, does not split)."""

VERIFY_SECONDS = 0.8
"""What the progress bar's first estimate assumes one scheme's verification costs (s)."""

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


def missing_section(part: str, title: str, what: str) -> Section:
    return Section(part, title, "missing", f"**Not run:** {what}")


# -- the parts ----------------------------------------------------------------------------------
def schemes_part(out: Path, settings: dict, bar) -> Section:
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
            + f"\n\n![stability regions]({fig.name})\n\n"
            + figure_caption("Absolute-stability regions in the z = hλ plane: each method's boundary in its own "
                             "colour and line style over a faint tint of its region. Explicit Runge–Kutta and "
                             "Adams–Bashforth methods are stable inside their curves; BDF methods outside theirs "
                             "(BDF1–2 are A-stable, BDF3–4 only A(α)-stable)."))
    return Section("schemes", "Schemes: properties derived from the coefficients", "ok", body, [out / "schemes.md", fig])


def verify_part(out: Path, settings: dict, bar) -> Section:
    """Observed against symbolic order for the preset's schemes (``numnet.solvers.verify``)."""
    title = "Verification against scipy"
    if missing_layers("solvers"):
        return missing_section("verify", title, "the solvers layer (`numnet.solvers`) is not installed, so the "
                                                "schemes were not integrated or compared with scipy.")
    from numnet.schemes import catalog
    from numnet.schemes.table import format_table
    from numnet.solvers import verify

    from numnet import plots

    items, bar = verify_items(settings), _ticks(bar)
    results = []
    for s in items:
        results.append(verify(s))  # numnet.solvers.Verification
        bar.update(VERIFY_SECONDS)
    rows = [v.row() for v in results]
    ok = all(v.passed for v in results)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    table = format_table(rows, columns=columns, fmt="markdown")
    write_text(out / "verify.md", table + "\n")
    fig = out / "convergence.png"
    plots.convergence_grid([(v.scheme, v.convergences, v.order) for v in results], path=fig)
    total = len(catalog())
    scope = (f"All {total} catalog schemes" if len(items) == total else
             f"{len(items)} of the {total} catalog schemes ({', '.join(s.name for s in items)}; `numnet verify` "
             f"checks all of them)")
    body = (f"{scope}, each integrated on two test problems with known solutions (scipy `solve_ivp` at tight "
            f"tolerance as the reference where no closed form exists); the observed order is the slope of the "
            f"log-log error against the step size h, fitted where the error is above rounding.\n\n{table}\n\n"
            f"![convergence]({fig.name})\n\n"
            + figure_caption("Error at the final time against the step size h, one panel per scheme and one line "
                             "per test problem (filled points entered the slope fit, hollow ones did not); the "
                             "dashed line is the slope of the scheme's symbolic order."))
    return Section("verify", title, "ok" if ok else "failed", body, [out / "verify.md", fig])


def verify_items(settings) -> list:
    """The schemes the report verifies: the preset's names, or the whole catalog."""
    from numnet.schemes import catalog, get

    names = settings["verify"]
    return catalog() if names is None else [get(n) for n in names]


class _NoBar:
    """Stands in for the report's progress bar when a part runs on its own."""

    def update(self, n=1):
        return None


class _Ticks:
    """The report's bar advanced in estimated seconds: work beyond the estimate grows the
    total (the ETA corrects itself) instead of running the bar past 100 %."""

    def __init__(self, bar):
        self.bar = bar

    def update(self, n=1):
        if self.bar.total is not None and self.bar.n + n > self.bar.total:
            self.bar.total = self.bar.n + n
        self.bar.update(n)


def _ticks(bar):
    if not bar:
        return _NoBar()
    return bar if isinstance(bar, (_Ticks, _NoBar)) else _Ticks(bar)


def figure_caption(text: str) -> str:
    """A figure's caption, as the report prints it under the image."""
    return f"*{text}*\n"


def train_part(out: Path, settings: dict, bar, *, data: str = "fashion_mnist", data_root=None,
               download: bool = False, device: str = "auto", fast: bool = True, mode: str = "default") -> Section:
    """A small study on real data: the table with its column definitions, the training
    curves and the learned-coefficient figures, each with a caption."""
    from . import study
    from .figures import caption
    from .wiring import load_data, make_recipe, require

    title = f"Scheme nets trained on {data}"
    gone = missing_layers("nets", "train", "data")
    if gone:
        return missing_section("train", title, "the " + ", ".join(f"`numnet.{g}`" for g in gone)
                               + " layer(s) are not installed, so no network was trained.")
    from numnet.data import DataNotFoundError
    from numnet.train.distributed import resolve_device
    from numnet.train.fastpath import fast_paths

    try:
        splits = load_data(data, root=data_root, download=download)
    except DataNotFoundError as e:
        return missing_section("train", title, f"the data set was not found.\n\n```\n{e}\n```")
    if settings["train_size"] and settings["train_size"] < len(splits.train):  # the preset's cap
        splits = splits.limit_train(settings["train_size"])
    recipe = make_recipe(None, data, settings["epochs"], settings["batch_size"])
    paths = fast_paths(resolve_device(device)) if fast else None
    options = {"device": device, "progress": False}
    if paths is not None:
        options.update(bf16=paths.bf16, channels_last=paths.channels_last)
    real_train, bar = require_train(), _ticks(bar)
    per_run = train_seconds(settings, len(splits.train), recipe.epochs)

    def train(*args, **kwargs):  # numnet.train.train, ticking the report's one progress bar per run
        result = real_train(*args, **kwargs)
        bar.update(per_run)
        return result

    folder = out / "study" / mode
    rows = study(settings["archs"], settings["depths"], settings["seeds"], folder, data=splits, recipe=recipe,
                 spectra_samples=settings["spectra"], progress=False, train=train, train_options=options)
    from .records import load_records
    from .table import definitions, markdown

    records = load_records(folder)
    no_spectra = settings["spectra"] and any(r.get("spectra") is None for r in records)
    figures = sorted(folder.glob("*.png"))
    order = lambda f: (0 if f.stem == "training_curves" else 1 if f.stem.startswith("learned_") else 2, f.name)  # noqa: E731
    figures.sort(key=order)
    speed = [h["images_per_s"] for r in records for h in r.get("history") or [] if h.get("images_per_s")]
    fast_text = ("fast paths: " + paths.reason if paths is not None else "fast paths off (fp32, default layout)")
    source = require("train", "origin")(recipe.name)
    body = [f"{len(splits.train)} training images, recipe `{recipe.name}`" + (f" ({source})" if source else "")
            + f" for {recipe.epochs} epoch(s) "
            f"(batch {recipe.batch_size}, lr {recipe.lr}), seeds {list(settings['seeds'])}; test error on the "
            f"{len(splits.test)} test images after the last epoch; {fast_text}"
            + (f"; {min(speed):.0f}–{max(speed):.0f} training images/s" if speed else "") + ". Short runs: the "
            f"numbers show the pipeline working, not converged accuracies (`--full` runs the paper's recipe). "
            f"Machine-readable: [study/table.csv](study/table.csv) (numeric columns hold only numbers).\n",
            markdown(rows),
            "Columns:\n\n" + definitions(),
            "Properties of a family with free symbols (LM-ResNet's k, a learnable Adams b1) are those of the "
            "learned per-block schemes: order and stability interval over every learned block (the interval "
            "is the one all blocks share).\n"]
    if no_spectra:
        body.append("Jacobian spectra: not drawn for some runs — their model has no `residual_branches()`, so "
                    "the study cannot tell which module is each step's vector field.\n")
    for f in figures:
        body.append(f"![{f.stem}](study/{mode}/{f.name})\n\n" + figure_caption(caption(f.stem, rows, records)))
    return Section("train", title, "ok", "\n".join(body), [folder / "table.md", folder / "table.csv", *figures])


def require_train():
    from .wiring import require

    return require("train", "train")


def train_seconds(settings, images: int, epochs: int) -> float:
    """The progress bar's first estimate of one run's training time (s): the preset's
    assumed speed, evaluation of the 10,000 test images each epoch included."""
    return epochs * (images + 10000 / 3) / settings.get("img_s", 500)


# -- the whole report ------------------------------------------------------------------------
def build_report(out, *, mode: str = "default", parts=None, data: str = "fashion_mnist", data_root=None,
                 download: bool = False, device: str = "auto", progress: bool = True, threads: int | None = None,
                 fast: bool = True, argv=None) -> tuple:
    """Write ``out/report.md`` with the requested parts (default: all). Returns
    ``(sections, exit_code)``: 1 when a part named in ``parts`` could not run or failed.

    One progress bar covers the whole report, with an ETA (its first estimate assumes the
    preset's speed and corrects itself as the parts finish). ``threads``: torch's math
    threads (default :func:`numnet.train.fastpath.default_threads`: the cores not already
    busy). ``fast``: train with the fast paths that pay on this device
    (:func:`numnet.train.fastpath.fast_paths`: bf16 autocast only with native bf16,
    channels-last)."""
    if mode not in PRESETS:
        raise ValueError(f"mode must be one of {sorted(PRESETS)}, got {mode!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    explicit = parts is not None
    parts = list(PARTS if parts is None else parts)
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise ValueError(f"parts must be among {', '.join(PARTS)}, got {parts}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = PRESETS[mode]
    if "train" in parts and not missing_layers("train"):
        import torch

        from numnet.train.fastpath import default_threads

        torch.set_num_threads(default_threads() if threads is None else threads)
    runners = {
        "schemes": lambda bar: schemes_part(out, settings, bar),
        "verify": lambda bar: verify_part(out, settings, bar),
        "train": lambda bar: train_part(out, settings, bar, data=data, data_root=data_root, download=download,
                                        device=device, fast=fast,
                                        mode=mode),
    }
    estimate = {"schemes": 6.0, "verify": VERIFY_SECONDS * len(verify_items(settings)) if "verify" in parts else 0.0,
                "train": _train_estimate(settings, data)}
    sections = []
    from numnet.progress import progress as progress_bar

    with progress_bar(total=sum(estimate[p] for p in parts), unit="s", desc="report", file=sys.stderr,
                      disable=not progress, bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}"
                      " {postfix}") as bar:
        for part in parts:
            bar.set_postfix_str(part)
            t0, before = time.perf_counter(), bar.n
            sec = runners[part](bar)
            sec.seconds = time.perf_counter() - t0
            _ticks(bar).update(max(0.0, estimate[part] - (bar.n - before)))  # the part is done, whatever was estimated
            sections.append(sec)
            bar.write(f"report: {part}: {sec.status} ({sec.seconds:.0f} s)")
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


def _train_estimate(settings, data) -> float:
    runs = len(settings["archs"]) * len(settings["depths"]) * len(settings["seeds"])
    images = settings["train_size"] or 50000
    epochs = settings["epochs"] or 160
    return runs * train_seconds(settings, images, epochs)

"""Training curves: test accuracy against cost or time, one line per run, levels marked."""

from __future__ import annotations

from numnet.plots.figure import axes, save

_MARKERS = "osD^v<>"


def accuracy_curves(panels: dict, *, xlabel: str = "cost", title: str | None = None, path=None):
    """Test accuracy after every epoch against cumulative cost (or seconds), one panel
    per entry of ``panels`` (title → ``{run: [(x, accuracy, level), ...]}``); a run's
    points take one marker per level of a multilevel schedule. Returns the Figure.

    >>> fig = accuracy_curves({"c2f": {"fine": [(1, .5, 0), (2, .6, 0)],
    ...                                "c2f": [(.25, .4, 0), (1.25, .6, 1)]}})
    >>> len(fig.axes), len(fig.axes[0].lines)   # per run: its line, then one marker set per level
    (1, 5)
    """
    if not isinstance(panels, dict) or not panels:
        raise ValueError("panels must be a non-empty dict: title -> {run: [(x, accuracy, level), ...]}")
    fig, axs = axes(ncols=len(panels), figsize=(5.0 * len(panels), 3.8))
    axs = axs if isinstance(axs, list) else [axs]
    for ax, (panel, runs) in zip(axs, panels.items()):
        for run, points in runs.items():
            if not points:
                raise ValueError(f"run {run!r} of panel {panel!r} has no points")
            xs, accs, levels = zip(*points)
            (line,) = ax.plot(xs, accs, "-", lw=1.2, label=run)
            for level in sorted(set(levels)):
                pick = [i for i, lv in enumerate(levels) if lv == level]
                ax.plot([xs[i] for i in pick], [accs[i] for i in pick], _MARKERS[level % len(_MARKERS)],
                        color=line.get_color(), ms=4)
        ax.set_title(panel)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save(fig, path)


def training_curves(runs: dict, *, title: str | None = None, path=None):
    """Training loss and test (and validation) accuracy after every epoch, one line per run:
    ``runs`` maps a label to that run's per-epoch history (rows with ``epoch``,
    ``train_loss``, ``test_acc`` and optionally ``val_acc``, as ``numnet.train`` records
    them). Left panel: training loss (log scale); right: accuracies (solid: test, dashed:
    validation). Returns the Figure.

    >>> h = [{"epoch": 1, "train_loss": 1.2, "test_acc": 0.6, "val_acc": None},
    ...      {"epoch": 2, "train_loss": 0.8, "test_acc": 0.7, "val_acc": None}]
    >>> fig = training_curves({"resnet-20 seed 0": h})
    >>> [ax.get_ylabel() for ax in fig.axes], len(fig.axes[1].lines)
    (['training loss (mean over the epoch)', 'accuracy'], 1)
    """
    if not isinstance(runs, dict) or not runs:
        raise ValueError("runs must be a non-empty dict: label -> per-epoch history rows")
    fig, (loss_ax, acc_ax) = axes(ncols=2, figsize=(11, 4))
    for label, history in runs.items():
        rows = [h for h in history if h.get("train_loss") is not None]
        if not rows:
            raise ValueError(f"run {label!r} has no epoch with a training loss")
        epochs = [h["epoch"] for h in rows]
        (line,) = loss_ax.plot(epochs, [h["train_loss"] for h in rows], "o-", ms=3, lw=1.2, label=label)
        test = [(h["epoch"], h["test_acc"]) for h in rows if h.get("test_acc") is not None]
        val = [(h["epoch"], h["val_acc"]) for h in rows if h.get("val_acc") is not None]
        if test:
            acc_ax.plot(*zip(*test), "o-", ms=3, lw=1.2, color=line.get_color(), label=f"{label} (test)")
        if val:
            acc_ax.plot(*zip(*val), "s--", ms=3, lw=1.0, color=line.get_color(), label=f"{label} (validation)")
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("training loss (mean over the epoch)")
    acc_ax.set_ylabel("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    if title:
        fig.suptitle(title)
    return save(fig, path)

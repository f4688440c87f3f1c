"""What a training run leaves: its configuration and one record per epoch.

Every summary figure (best validation accuracy, the test accuracy at that epoch,
images per second, ...) is computed from the per-epoch history, which is the one
record kept; ``result.json`` stores both for people reading it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from numnet.fileio import read_json, restore_non_finite, write_json

__all__ = ["TrainResult"]


@dataclass
class TrainResult:
    """The outcome of :func:`numnet.train.train`.

    ``history`` has one dict per finished epoch with ``epoch`` (1-based), ``lr``,
    ``train_loss``/``train_acc``, ``val_loss``/``val_acc`` (``None`` without a validation
    set), ``test_loss``/``test_acc``, ``images``, ``train_time`` (seconds in training
    steps), ``epoch_time``, ``images_per_s``, ``coefficients`` (the model's
    ``learned_coefficients()`` after the epoch, or ``[]``) and ``zero_unstable`` (the
    ``{"stage", "block"}`` whose learned scheme is not zero-stable after the epoch).

    >>> h = [{"epoch": e, "val_acc": v, "test_acc": t, "images": 100, "train_time": 1.0,
    ...       "coefficients": []} for e, v, t in ((1, 0.5, 0.4), (2, 0.7, 0.6), (3, 0.6, 0.65))]
    >>> r = TrainResult(config={"recipe": {"epochs": 3}}, history=h, finished=True)
    >>> r.best_val_acc, r.best_epoch, r.test_acc_at_best, r.final_test_acc, r.images_per_second
    (0.7, 2, 0.6, 0.65, 100.0)
    """

    config: dict
    history: list[dict] = field(default_factory=list)
    finished: bool = False
    wall_time: float = 0.0
    out: str | None = None

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    def _final(self, key):
        return self.history[-1][key] if self.history else None

    @property
    def final_train_loss(self) -> float | None:
        return self._final("train_loss")

    @property
    def final_val_acc(self) -> float | None:
        return self._final("val_acc")

    @property
    def final_test_acc(self) -> float | None:
        return self._final("test_acc")

    @property
    def best_epoch(self) -> int | None:
        """The epoch of highest validation accuracy (the first, on ties); ``None`` without
        a validation set. Model selection uses this, never the test set."""
        scored = [(h["val_acc"], -h["epoch"]) for h in self.history if h.get("val_acc") is not None]
        return -max(scored)[1] if scored else None

    @property
    def best_val_acc(self) -> float | None:
        e = self.best_epoch
        return None if e is None else self.history[e - 1]["val_acc"]

    @property
    def test_acc_at_best(self) -> float | None:
        """Test accuracy of the epoch chosen on validation accuracy."""
        e = self.best_epoch
        return None if e is None else self.history[e - 1]["test_acc"]

    @property
    def best_test_acc(self) -> float | None:
        """Highest test accuracy of any epoch (an optimistic figure: selected on test)."""
        accs = [h["test_acc"] for h in self.history if h.get("test_acc") is not None]
        return max(accs) if accs else None

    @property
    def train_time(self) -> float:
        return sum(h["train_time"] for h in self.history)

    @property
    def images_per_second(self) -> float | None:
        t = self.train_time
        return sum(h["images"] for h in self.history) / t if t > 0 else None

    @property
    def coefficients(self) -> list[list[dict]]:
        """Learned scheme coefficients after each epoch (empty lists if the model has none)."""
        return [h.get("coefficients", []) for h in self.history]

    @property
    def zero_unstable(self) -> list[dict]:
        """The blocks whose learned scheme left the zero-stability set, each with the first
        epoch it was found outside: ``[{"stage", "block", "epoch"}, ...]``.

        >>> h = [{"epoch": 1, "zero_unstable": []}, {"epoch": 2, "zero_unstable": [{"stage": 0, "block": 3}]},
        ...      {"epoch": 3, "zero_unstable": [{"stage": 0, "block": 3}, {"stage": 1, "block": 0}]}]
        >>> TrainResult(config={}, history=h).zero_unstable
        [{'stage': 0, 'block': 3, 'epoch': 2}, {'stage': 1, 'block': 0, 'epoch': 3}]
        """
        first = {}
        for h in self.history:
            for b in h.get("zero_unstable", ()):
                first.setdefault((b["stage"], b["block"]), h["epoch"])
        return [{"stage": st, "block": b, "epoch": e} for (st, b), e in first.items()]

    _SUMMARY = ("epochs_done", "final_train_loss", "final_val_acc", "final_test_acc", "best_epoch",
                "best_val_acc", "test_acc_at_best", "best_test_acc", "train_time", "images_per_second",
                "zero_unstable")

    def summary(self) -> dict:
        """The headline figures as a dict."""
        return {k: getattr(self, k) for k in self._SUMMARY}

    def to_dict(self) -> dict:
        return {"config": self.config, "finished": self.finished, "wall_time": self.wall_time,
                "out": self.out, "summary": self.summary(), "history": self.history}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainResult":
        return cls(config=d["config"], history=d["history"], finished=d["finished"],
                   wall_time=d["wall_time"], out=d.get("out"))

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict(), non_finite="mark")  # a diverged loss is recorded, not refused

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TrainResult":
        return cls.from_dict(restore_non_finite(read_json(path)))

    def __repr__(self) -> str:
        s = self.summary()
        acc = lambda v: "-" if v is None else f"{100 * v:.2f}%"  # noqa: E731
        speed = "-" if s["images_per_second"] is None else f"{s['images_per_second']:.0f}"
        return (f"TrainResult({s['epochs_done']}/{self.config.get('recipe', {}).get('epochs', '?')} epochs, "
                f"final test {acc(s['final_test_acc'])}, best val {acc(s['best_val_acc'])} "
                f"(epoch {s['best_epoch']}), {speed} img/s)")

"""Which fast paths pay on this machine: bfloat16 autocast, channels-last, threads.

None of them changes the algorithm (the same SGD on the same net); bf16 autocast changes
the rounding of convolutions and matrix products, so numnet turns it on by itself only
where the hardware computes in bf16 natively — CUDA GPUs that support it, and CPUs with
AVX512-BF16 or AMX-BF16 (x86) or the BF16 extension (Arm) — and where it was measured to
pay (``benchmarks/fastpaths.py``: on a 2-core AMD EPYC with avx512_bf16, a full-width
ResNet-20 step on 28×28 images ran 1.9× faster with bf16 + channels-last than fp32, with
test accuracy within seed noise of fp32 after the same run). Without native bf16 the
autocast is emulated and several times *slower*, so it stays off.

>>> paths = fast_paths("cpu", flags={"avx2"})
>>> paths.bf16, paths.channels_last
(False, True)
>>> fast_paths("cpu", flags={"avx512f", "avx512_bf16"}).bf16
True
>>> fast_paths("cpu", flags={"avx512f", "avx512_bf16"}).reason
'bf16 autocast: the CPU computes bf16 natively (avx512_bf16); channels-last: faster for convolutions on CPU'
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")
"""CPU feature flags (as /proc/cpuinfo spells them) that mean bf16 arithmetic in hardware:
x86 AVX512-BF16 and AMX-BF16, Arm's BF16 extension (``bf16`` in the Features line)."""


@dataclass(frozen=True)
class FastPaths:
    """The fast paths numnet uses by default on one device, and why."""

    bf16: bool
    channels_last: bool
    reason: str


def cpu_flags() -> frozenset:
    """The CPU's feature flags (``flags``/``Features`` of /proc/cpuinfo); empty where the
    system does not say (then numnet assumes no native bf16).

    >>> isinstance(cpu_flags(), frozenset)
    True
    """
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


def native_bf16(device="cpu", *, flags=None) -> bool:
    """Whether ``device`` computes bfloat16 natively (so that autocast pays).

    >>> native_bf16("cpu", flags={"avx512f"}), native_bf16("cpu", flags={"amx_bf16"})
    (False, True)
    """
    kind = _device_type(device)
    if kind == "cuda":
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if kind != "cpu":
        return False
    flags = cpu_flags() if flags is None else set(flags)
    return any(f in flags for f in NATIVE_BF16_FLAGS)


def fast_paths(device="cpu", *, flags=None) -> FastPaths:
    """The default fast paths for ``device`` (``"cpu"``, ``"cuda"``, a ``torch.device``)."""
    kind = _device_type(device)
    flags = cpu_flags() if (flags is None and kind == "cpu") else flags
    bf16 = native_bf16(device, flags=flags)
    if kind == "cpu":
        found = next((f for f in NATIVE_BF16_FLAGS if f in (flags or ())), None)
        why = (f"bf16 autocast: the CPU computes bf16 natively ({found})" if bf16 else
               "no bf16 autocast: this CPU has no native bf16 (it would be emulated, several times slower)")
    else:
        why = "bf16 autocast: the GPU supports bf16" if bf16 else "no bf16 autocast: the GPU lacks bf16"
    return FastPaths(bf16=bf16, channels_last=kind in ("cpu", "cuda"),
                     reason=f"{why}; channels-last: faster for convolutions on {kind.upper() if kind == 'cpu' else 'GPU'}")


def default_threads(*, cores: int | None = None, load: float | None = None) -> int:
    """The math threads numnet's commands use unless told (``--threads``): the cores this
    process may run on that are not already busy (the 1-minute load average), at least 1.

    On an idle laptop that is every core; on a machine shared with other jobs it is fewer,
    because torch's busy-waiting threads on an oversubscribed machine are far slower than
    one thread (measured on 2 loaded cores: a ResNet-20 step 5.7x slower with 2 threads than
    with 1; benchmarks/README.md). ``OMP_WAIT_POLICY=PASSIVE`` softens that if you want
    more threads anyway.

    >>> default_threads(cores=2, load=0.1), default_threads(cores=2, load=1.7), default_threads(cores=8, load=3.2)
    (2, 1, 5)
    """
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    return max(1, min(cores, cores - int(round(load))))


def machine() -> str:
    """One line naming the processor and its bf16 support, for benchmark records."""
    flags = cpu_flags()
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                name = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    bf16 = [f for f in NATIVE_BF16_FLAGS if f in flags]
    return f"{name}, {os.cpu_count()} cores, native bf16: {', '.join(bf16) if bf16 else 'no'}"


def _device_type(device) -> str:
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    if kind not in ("cpu", "cuda", "mps", "xpu"):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or a torch.device, got {device!r}")
    return kind

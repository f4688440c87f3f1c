"""numnet.plots: figures come back, files are written, and what is drawn is the schemes' answer."""

import math
import struct

import numpy as np
import pytest
import sympy as sp

from numnet import plots, schemes
from numnet.plots.learned import block_schemes, set_pieces, zero_stability_sets
from numnet.plots.stability import boundary_points, region_grid


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def region_images(fig):
    return {im.get_gid(): im for im in fig.axes[0].images}


def test_regions_are_in_stability_region_on_the_grid(tmp_path):
    bounds = (-3.5, 1.5, -3.0, 3.0)
    names = ["ab3", "rk4", "bdf2", "lm_resnet"]
    items = [schemes.get(n) if n != "lm_resnet" else schemes.get(n).subs(k=-0.2) for n in names]
    fig = plots.stability_regions(items, bounds=bounds, n=61, path=[tmp_path / "r.png", tmp_path / "r.svg"])
    assert png_size(tmp_path / "r.png")[0] > 100
    assert b"<svg" in (tmp_path / "r.svg").read_bytes()[:2000]
    images = region_images(fig)
    names[-1] = "lm_resnet(k=-0.2)"   # a substituted scheme is named by its values
    assert set(images) == set(names)
    x, y = np.linspace(-3.5, 1.5, 61), np.linspace(-3.0, 3.0, 61)
    for name, s in zip(names, items):
        drawn = ~np.ma.getmaskarray(images[name].get_array())
        expect = s.in_stability_region(x[None, :] + 1j * y[:, None])
        assert np.array_equal(drawn, expect), name
        left, right, bottom, top = images[name].get_extent()
        assert left < -3.5 < left + 0.1 and right - 0.1 < 1.5 < right  # pixel centres on the grid points
    # the pictures are not trivial: AB3's region is small, BDF2's large and unbounded
    assert 0 < (~np.ma.getmaskarray(images["ab3"].get_array())).mean() < 0.1
    assert (~np.ma.getmaskarray(images["bdf2"].get_array())).mean() > 0.5


def test_region_grid_orientation():
    x, y, inside = region_grid(schemes.get("euler"), (-2.5, 0.5, -1.5, 1.5), n=7)
    assert x.tolist() == [-2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5] and inside.shape == (7, 7)
    assert inside[3, 1:6].all() and not inside[3, 0] and not inside[3, 6]  # real axis [-2, 0]
    assert not inside[0].any() and not inside[6].any()  # |Im z| = 1.5 is outside |1 + z| <= 1
    with pytest.raises(ValueError, match="bounds must be"):
        region_grid(schemes.get("euler"), (1, 0, -1, 1))


@pytest.mark.parametrize("name", ["rk4", "dormand_prince", "radau_iia2"])
def test_rk_boundary_is_where_abs_R_is_one(name):
    s = schemes.get(name)
    R = sp.lambdify(schemes.Z, s.stability_function(), "numpy")
    z = boundary_points(s, 64)
    z = z[np.isfinite(z)]
    assert len(z) >= 64 and np.allclose(np.abs(R(z)), 1.0, atol=1e-8)


@pytest.mark.parametrize("name", ["ab2", "ab4", "bdf3", "am2", "leapfrog"])
def test_lmm_boundary_is_the_locus(name):
    s = schemes.get(name)
    z = boundary_points(s, 50)
    theta = np.linspace(0, 2 * np.pi, 50)
    rho = np.polyval([float(a) for a in s.alpha][::-1], np.exp(1j * theta))
    sig = np.polyval([float(b) for b in s.beta][::-1], np.exp(1j * theta))
    ok = np.isfinite(z)
    assert np.allclose(z[ok] * sig[ok], rho[ok])


def test_auto_bounds_hold_the_stability_intervals():
    for names in (["euler"], ["rk4"], ["ab2", "ab3"], ["bdf2"], ["dormand_prince", "heun"]):
        re0, re1, im0, im1 = plots.auto_bounds(names)
        assert re0 < 0 < re1 and im0 == -im1 and im1 >= 1
        for n in names:
            a = schemes.get(n).stability_interval().inf
            if a != -sp.oo:
                assert re0 <= float(a)
    # a region running to infinity (Gauss: the left half-plane) still gets finite bounds
    assert all(math.isfinite(b) and abs(b) <= 20 for b in plots.auto_bounds(["gauss2"]))


def test_bad_input():
    with pytest.raises(TypeError, match="expected a scheme"):
        plots.stability_regions(3)
    with pytest.raises(ValueError, match="free"):
        plots.stability_regions("lm_resnet")
    with pytest.raises(ValueError, match="must end in one of"):
        plots.stability_regions("euler", path="x.gif")
    with pytest.raises(ValueError, match="labels must name each"):
        plots.stability_regions(["euler", "heun"], labels=["one"])


class FakeLM:
    """The nets contract for an LM-ResNet: two stages of three blocks."""

    def __init__(self, ks):
        self.ks = ks

    def learned_coefficients(self):
        return [{"stage": st, "block": b, "symbol": "k", "value": k}
                for st, row in enumerate(self.ks) for b, k in enumerate(row)]

    def step_schemes(self):
        return [[schemes.get("lm_resnet").subs(k=k) for k in row] for row in self.ks]


def test_learned_coefficients_band_is_the_zero_stability_set(tmp_path):
    model = FakeLM([[-0.05, -0.3, 0.2], [0.0, -1.2, 0.9]])
    fig = plots.learned_coefficients(model, path=tmp_path / "k.png")  # family inferred: lm_resnet
    png_size(tmp_path / "k.png")
    ax = fig.axes[0]
    cond = schemes.get("lm_resnet").zero_stability_condition()
    (lo, hi, lo_closed, hi_closed), = set_pieces(cond)
    band = [p for p in ax.patches if p.get_label().startswith("zero-stable")]
    assert len(band) == 1
    ys = band[0].get_transform().transform(band[0].get_path().vertices)[:, 1]
    ys = ax.transData.inverted().transform(np.c_[np.zeros_like(ys), ys])[:, 1]
    assert ys.min() == pytest.approx(lo) and ys.max() == pytest.approx(hi)
    edges = {round(float(line.get_ydata()[0]), 9): line.get_linestyle() for line in ax.lines
             if len(set(line.get_ydata())) == 1 and line.get_xdata()[0] == 0}
    assert edges[lo] == ("-" if lo_closed else "--") and edges[hi] == ("-" if hi_closed else "--")
    assert (lo, hi, lo_closed, hi_closed) == (-1.0, 1.0, False, True)
    data = ax.lines[-1]
    assert data.get_xdata().tolist() == list(range(6))
    assert data.get_ydata().tolist() == [-0.05, -0.3, 0.2, 0.0, -1.2, 0.9]
    assert "-1 < k ≤ 1" in band[0].get_label()


def test_zero_stability_sets_come_from_the_scheme():
    assert zero_stability_sets("lm_resnet") == {"k": schemes.get("lm_resnet").zero_stability_condition()}
    assert zero_stability_sets("adams3_learnable") == {"b1": sp.S.Reals, "b2": sp.S.Reals}
    # any one-parameter family: the band is whatever its exact condition says
    a = sp.Symbol("a")
    fam = schemes.LinearMultistep([-(1 - a), -a, 1], [0, 1, 0], name="mine")
    assert zero_stability_sets(fam) == {"a": fam.zero_stability_condition()}


def test_learned_regions_fill_where_every_block_is_stable(tmp_path):
    model = FakeLM([[-0.05, -0.3, 0.2], [0.0, -0.5, 0.1]])
    bounds = (-3.5, 0.5, -1.5, 1.5)
    spectra = [np.array([-0.5 + 0.2j, -1.0 - 0.1j])] * 5 + [None]
    fig = plots.learned_regions(model, spectra=spectra, bounds=bounds, n=41, path=tmp_path / "regions.svg")
    assert (tmp_path / "regions.svg").stat().st_size > 1000
    common = ~np.ma.getmaskarray(region_images(fig)["all blocks"].get_array())
    x, y = np.linspace(-3.5, 0.5, 41), np.linspace(-1.5, 1.5, 41)
    z = x[None, :] + 1j * y[:, None]
    expect = np.logical_and.reduce([s.in_stability_region(z) for _, _, s in block_schemes(model)])
    assert np.array_equal(common, expect) and 0 < common.mean() < 1
    dots = fig.axes[0].collections
    assert sum(len(c.get_offsets()) for c in dots if len(c.get_offsets()) == 2) == 10
    with pytest.raises(ValueError, match="one array"):
        plots.learned_regions(model, spectra=[None])


def test_learned_stability_figure(tmp_path):
    model = FakeLM([[-0.05, -0.3], [0.0, -0.2]])
    fig = plots.learned_stability(model, n=40, path=tmp_path / "fig.png")
    w, h = png_size(tmp_path / "fig.png")
    assert w > h > 100 and len(fig.axes) == 3
    with pytest.raises(ValueError, match="family is needed"):
        plots.learned_coefficients(model.learned_coefficients())


def test_property_scatter_places_rows(tmp_path):
    rows = [{"label": "resnet", "depth": 20, "x": -2.0, "test_error_mean": 0.08, "test_error_std": 0.01},
            {"label": "heun", "depth": 20, "x": -2.0, "test_error_mean": 0.07, "test_error_std": None},
            {"label": "rk4", "depth": 32, "x": -2.785, "test_error_mean": 0.06, "test_error_std": 0.002},
            {"label": "bdf2", "depth": 32, "x": float("-inf"), "test_error_mean": 0.09}]
    fig = plots.property_scatter(rows, "x", path=tmp_path / "s.png")
    png_size(tmp_path / "s.png")
    ax = fig.axes[0]
    pts = sorted(tuple(map(float, line.get_xydata()[i])) for line in ax.lines if line.get_marker() not in ("", "None", "_")
                 for i in range(len(line.get_xdata())))
    assert pts == sorted([(-2.0, 0.08), (-2.0, 0.07), (-2.785, 0.06)])
    assert "1 row without a finite value left out" in ax.get_title()
    with pytest.raises(ValueError, match="no row has the column"):
        plots.property_scatter(rows, "order")

"""The edge-of-chaos selections and claims: the phase diagram's cells, chi_1 from gradients, the spread of a
spectrum, the binomial share test, and verdicts that can come out either way."""

import math

import numpy as np
import pandas as pd
import pytest

import synthetic
from initbench import meanfield, stats
from initbench.figures import critdata
from initbench.figures.data import Tables
from initbench.report import claims
from initbench.report.context.criticality import reduction


class FakeTables:
    """Just the tables a selection reads, as given."""

    def __init__(self, **tables):
        self.tables = tables

    def get(self, table, study=None):
        df = self.tables.get(table, pd.DataFrame())
        return df[df["study"] == study] if study and len(df) else df


def _summary(rows):
    cols = ["study", "init", "depth", "width", "seed", "final_val_accuracy"]
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows])


def test_a_cell_trains_on_its_mean_over_seeds_and_a_diverged_seed_counts_as_chance():
    xi = meanfield.fixed_point("tanh", 3.0, 0.05).xi_c  # about 9: 6 xi_c = 54
    # depth 40: mean 0.225 >= chance + 0.1, trains; depth 80: the diverged seed counts as chance, 0.175: does not
    # (dropping it instead would give 0.25, a cell that trains)
    rows = [(40, 0, 0.35), (40, 1, 0.10), (80, 0, 0.25), (80, 1, math.nan)]
    s = _summary([("criticality", "gaussian(3,0.05)", depth, 64, seed, acc) for depth, seed, acc in rows])
    lay = pd.DataFrame({"study": "criticality", "layer": [41], "depth": [40], "units": [10]})
    cells = critdata.phase_cells(FakeTables(summary=s, layers=lay)).set_index("depth")
    assert cells.loc[40, "sigma_w2"] == pytest.approx(3.0) and cells.loc[40, "xi_c"] == pytest.approx(xi)
    assert list(cells["trains"]) == [True, False]
    assert list(cells["predicted"]) == [40 <= 6 * xi, 80 <= 6 * xi] == [True, False]
    assert cells["agrees"].all() and list(cells["seeds"]) == [2, 2]


def test_chi1_measured_from_gradients_that_follow_the_theory():
    """Gradient stds built by the recurrence Var g_l = chi_1 Var g_{l+1} give chi_1 back; the first quarter of
    the layers (not yet at q*) and the output layer are left out."""
    rows = []
    depth, width = 12, 64
    for init in ("gaussian(1.2,0.05)", "gaussian(2.5,0.05)", "he_normal"):
        act = "relu" if init == "he_normal" else "tanh"
        var_w, var_b = critdata.init_sigmas(init, width)
        chi = meanfield.chi1(act, var_w, var_b)
        grad = [chi ** (-(layer - 1) / 2) for layer in range(1, depth + 1)] + [123.0]  # the output: anything
        grad[0] = 99.0  # layer 1 is off q*: ignored
        for layer, g in enumerate(grad, start=1):
            rows.append({"study": "criticality", "activation": act, "init": init, "depth": depth, "width": width,
                         "seed": 0, "epoch": 0, "layer": layer, "units": width if layer <= depth else 10,
                         "grad_std": g})  # fmt: skip
    chi = critdata.measured_chi1(FakeTables(layers=pd.DataFrame(rows)), studies=("criticality",))
    assert len(chi) == 3
    assert np.allclose(chi["chi1_measured"], chi["chi1_theory"], rtol=1e-9)
    assert chi.set_index("init").loc["he_normal", "chi1_theory"] == pytest.approx(1.0)


def test_spread_of_an_isometric_and_of_a_spread_spectrum():
    n = 8
    values = np.r_[np.ones(n), np.r_[np.full(n - 1, 0.0), math.sqrt(n)]]  # all 1, then one non-zero value
    sp = pd.DataFrame(
        {"study": "isometry", "activation": "tanh", "init": "orthogonal(1.761,0.05)", "width": n, "seed": 0,
         "variant": "v", "layer": np.repeat([2, 5], n), "input": 0, "index": np.tile(np.arange(n), 2),
         "singular_value": values}
    )  # fmt: skip
    out = critdata.spread(FakeTables(spectra=sp)).set_index("layer")
    assert out.loc[2, "spread"] == pytest.approx(0.0) and out.loc[5, "spread"] == pytest.approx(n - 1)
    assert out.loc[5, "zero_share"] == pytest.approx((n - 1) / n)
    growth = critdata.spread_growth(out.reset_index())
    assert growth["growth"].iloc[0] == pytest.approx((n - 1) / 3)
    _, var = meanfield.jacobian_spectrum_moments("tanh", 1.761, 0.05, 4, "orthogonal")
    assert out.loc[5, "spread_theory"] == pytest.approx(
        var / meanfield.jacobian_spectrum_moments("tanh", 1.761, 0.05, 4, "orthogonal")[0] ** 2
    )


def test_share_test_and_its_verdicts():
    clear = stats.share_test(28, 28, 0.75)
    assert clear.p == pytest.approx(0.75**28) and stats.share_verdict(clear, clear.p) == stats.REPRODUCED
    low = stats.share_test(10, 28, 0.75)
    assert low.hi < 0.75 and stats.share_verdict(low, low.p) == stats.NOT_REPRODUCED
    near = stats.share_test(22, 28, 0.75)
    assert stats.share_verdict(near, near.p) == stats.INCONCLUSIVE
    assert stats.share_verdict(stats.share_test(0, 0, 0.75), math.nan) == stats.INCONCLUSIVE


def _verdicts(tmp_path, quality):
    cfg = synthetic.config(["criticality", "isometry", "isometry_relu"], seeds=4)
    inputs = synthetic.write_inputs(tmp_path, cfg, quality)
    return {r["id"]: r for r in claims.evaluate(Tables(inputs.metrics_dir, inputs.summary_csv))}


def test_edge_of_chaos_verdicts_can_come_out_either_way(tmp_path):
    inits = synthetic.config(["criticality"])["studies"]["criticality"]["init"]
    everything_trains = {("criticality", i): 0.62 for i in inits}
    rows = _verdicts(tmp_path / "a", {**everything_trains, ("isometry", "orthogonal(1.761,0.05)"): 0.40})
    assert rows["depth_scale"]["verdict"] in (stats.NOT_REPRODUCED, stats.INCONCLUSIVE)
    assert rows["isometry_orthogonal"]["verdict"] == stats.NOT_REPRODUCED
    assert math.isfinite(rows["depth_scale"]["p_t"]) and rows["depth_scale"]["n"] == 28
    assert (
        rows["xavier_vs_default"]["verdict"] == stats.INCONCLUSIVE
    )  # not run: no p-value, not in the family


def test_reduction_names_what_the_default_left_out():
    from test_grid import _cfg

    text = reduction(_cfg("config/config.yaml"), "criticality")
    assert text.startswith("Reduced from config/paper.yaml:") and "depths" in text and "width 64" in text
    assert "fashion_mnist, 12,800 training samples (paper.yaml: mnist, 51,200 training samples)" in text
    assert reduction(_cfg("config/paper.yaml"), "criticality") == "This is config/paper.yaml's full study."

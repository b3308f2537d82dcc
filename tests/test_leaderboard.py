"""The leaderboard on made-up summaries with known answers: normalised ranks, ties, equal cell
weights, the seeded bootstrap, Holm-counted wins against default, failures, plugin provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initbench import leaderboard, stats

N_CLASSES = {"d": 10, "toy": 2}


def runs(
    cell: dict, accuracy: dict[str, list[float]], diverged: dict[str, list[int]] | None = None
) -> list[dict]:
    """Summary rows of one cell: ``accuracy[init][seed]``; a seed listed in ``diverged[init]`` diverged."""
    rows = []
    for init, accs in accuracy.items():
        for seed, acc in enumerate(accs):
            gone = seed in (diverged or {}).get(init, [])
            rows.append(
                {
                    **cell,
                    "init": init,
                    "seed": seed,
                    "final_val_accuracy": np.nan if gone else acc,
                    "diverged": gone,
                }
            )
    return rows


def cell(study="s", dataset="d", hidden="8", activation="tanh") -> dict:
    return {"study": study, "dataset": dataset, "hidden": hidden, "activation": activation}


def board(rows, **kw) -> pd.DataFrame:
    return leaderboard.build(pd.DataFrame(rows), N_CLASSES, **kw).set_index("init")


def test_ranks_are_normalised_per_cell_and_cells_weigh_the_same():
    noise = [0.0, 0.01, -0.01, 0.02, 0.0]
    rows = runs(cell("a"), {  # three inits: ranks 0, 0.5, 1
        "default": [0.50 + e for e in noise], "good": [0.70 + e for e in noise], "bad": [0.30 + e for e in noise],
    })  # fmt: skip
    # two inits with 8 seeds, where "good" is the worse one: its mean over cells is (0 + 1) / 2, not
    # weighted by the 5 + 8 seeds
    rows += runs(cell("b"), {"good": [0.4] * 8, "bad": [0.6] * 8})
    rows += runs(cell("c"), {"lonely": [0.9] * 3})  # a cell of one init ranks nothing
    b = board(rows)
    assert b.loc["good", "mean_rank"] == pytest.approx(0.5) and b.loc["bad", "mean_rank"] == pytest.approx(
        0.5
    )
    assert b.loc["default", "mean_rank"] == pytest.approx(0.5)
    assert b.loc["good", "cells"] == 2 and b.loc["default", "cells"] == 1 and b.loc["good", "runs"] == 13
    assert b.loc["lonely", "cells"] == 0 and np.isnan(b.loc["lonely", "mean_rank"])
    assert list(b.index)[-1] == "lonely" and list(b["place"]) == [1, 2, 3, 4]


def test_ties_share_their_mean_rank():
    rows = runs(cell(), {"x": [0.5] * 3, "y": [0.5] * 3, "z": [0.4] * 3})
    b = board(rows)
    assert b.loc["x", "mean_rank"] == b.loc["y", "mean_rank"] == pytest.approx(0.25)  # ranks 1.5 of 1..3
    assert b.loc["z", "mean_rank"] == pytest.approx(1.0)


def test_the_bootstrap_is_seeded_and_brackets_the_mean():
    rng = np.random.default_rng(3)
    rows = []
    for study in ("a", "b", "c"):  # the order of two inits flips from seed to seed
        rows += runs(cell(study), {i: list(0.5 + 0.1 * rng.normal(size=6)) for i in ("p", "q", "r")})
    one, two = board(rows), board(rows)
    pd.testing.assert_frame_equal(one, two)
    for init in ("p", "q", "r"):
        lo, mean, hi = one.loc[init, ["rank_lo", "mean_rank", "rank_hi"]]
        assert 0 <= lo < mean < hi <= 1, (init, lo, mean, hi)
    constant = board(runs(cell(), {"p": [0.9] * 4, "q": [0.1] * 4}))
    assert constant.loc["p", ["rank_lo", "mean_rank", "rank_hi"]].tolist() == [0, 0, 0]
    assert board(rows, b=200).loc["p", "rank_lo"] != one.loc["p", "rank_lo"]  # B is what it says


def test_wins_and_losses_against_default_count_only_holm_significant_cells():
    d = [0.50, 0.52, 0.48, 0.51, 0.49]
    better = [a + e for a, e in zip(d, [0.010, 0.025, 0.005, 0.020, 0.005], strict=True)]
    also = [a + e for a, e in zip(d, [0.005, 0.025, 0.010, 0.005, 0.020], strict=True)]
    rows = runs(cell("a"), {"default": d, "better": better, "also": also, "worse": [a - 0.2 for a in d]})
    rows += runs(cell("b"), {"default": d, "better": [a + 0.1 for a in d], "same": list(d)})
    rows += runs(cell("c"), {"better": [0.9] * 5, "worse": [0.1] * 5})  # no default: not compared
    raw = {i: stats.paired_test(v, d).p_t for i, v in (("better", better), ("also", also))}
    assert all(0.01 < p < stats.ALPHA for p in raw.values()), raw  # each alone would be a win
    tests = leaderboard.against_default(leaderboard.scored(pd.DataFrame(rows), N_CLASSES))
    assert len(tests) == 5 and np.allclose(tests["p_holm"], stats.holm(tests["p"]), equal_nan=True)
    b = board(rows)
    assert b.loc["also", ["wins", "ties", "losses"]].tolist() == [0, 1, 0]  # not after Holm
    assert b.loc["better", ["wins", "ties", "losses", "vs_default_cells"]].tolist() == [1, 1, 0, 2]
    assert b.loc["worse", ["wins", "losses", "vs_default_cells"]].tolist() == [0, 1, 1]
    assert b.loc["same", ["wins", "ties", "losses"]].tolist() == [0, 1, 0]
    assert b.loc["default", "vs_default_cells"] == 0


def test_failures_diverged_or_stayed_at_chance():
    rows = runs(
        cell(), {"default": [0.8, 0.8, 0.8, 0.8], "shaky": [0.8, 0.15, 0.25, 0.5]}, diverged={"shaky": [3]}
    )  # 10 classes: chance 0.1, so below 0.2 stayed at chance; 0.25 trained
    rows += runs(cell(dataset="toy"), {"default": [0.55, 0.9], "shaky": [0.61, 0.9]})  # 2 classes: below 0.6
    b = board(rows)
    assert b.loc["shaky", ["runs", "diverged", "stayed_at_chance"]].tolist() == [6, 1, 1]
    assert b.loc["shaky", "did_not_train_share"] == pytest.approx(2 / 6)
    assert b.loc["default", ["diverged", "stayed_at_chance"]].tolist() == [0, 1]
    # a diverged run scores chance: below every run that trained, tied with the others at chance
    scored = leaderboard.scored(pd.DataFrame(rows), N_CLASSES)
    assert scored.loc[scored["diverged"], "score"].tolist() == [0.1]


def test_plugin_inits_appear_like_built_ins_and_uncited_ones_say_user_supplied(tmp_path):
    rows = runs(cell(), {"default": [0.5] * 3, "he_uniform": [0.6] * 3, "mine(0.5)": [0.7] * 3})
    plugins = {"mine": {"plugin": "plugins/mine.py", "cite": "user-supplied"}}
    b = board(rows, plugin_inits=plugins)
    assert b.loc["mine(0.5)", ["source", "cite", "place"]].tolist() == ["plugins/mine.py", "user-supplied", 1]
    assert b.loc["he_uniform", "source"] == "built-in" and "He et al." in b.loc["he_uniform", "cite"]
    out = tmp_path / "leaderboard.csv"
    leaderboard.write(leaderboard.build(pd.DataFrame(rows), N_CLASSES, plugins), out)
    first = out.read_bytes()
    leaderboard.write(leaderboard.build(pd.DataFrame(rows), N_CLASSES, plugins), out)
    assert out.read_bytes() == first
    assert pd.read_csv(out).columns.tolist() == list(leaderboard.COLUMNS)


def test_the_report_section_shows_the_csvs_numbers(tmp_path):
    import synthetic
    from initbench.figures.data import Tables
    from initbench.report.context import leaderboard as section
    from initbench.report.sections import Run

    inputs = synthetic.write_inputs(tmp_path)
    run = Run(Tables(inputs.metrics_dir, inputs.summary_csv), inputs.config, [], [], inputs.dataset_meta, {})
    ctx = section.build(run)
    summary = pd.read_csv(inputs.summary_csv)
    table = leaderboard.build(summary, leaderboard.n_classes_of(inputs.dataset_meta))
    assert [r["init"] for r in ctx["rows"]] == table["init"].tolist()
    assert [r["rank"] for r in ctx["rows"]] == [f"{x:.2f}" for x in table["mean_rank"]]
    assert int(ctx["n_cells"]) == summary.groupby(leaderboard.CELL).ngroups
    assert ctx["plugins"] == [] and "Holm" in ctx["method"]

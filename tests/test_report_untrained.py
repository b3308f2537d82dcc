"""Cells that stayed at chance are flagged "did not train in this budget", never shown as results."""

import synthetic
from initbench.figures import depth as depth_figures
from initbench.figures.data import Tables, n_classes
from initbench.report.context import depth, labs, table1
from initbench.report.context.text import DID_NOT_TRAIN, flag_untrained
from initbench.report.sections import Run

AT_CHANCE = 0.10  # a synthetic cell's final accuracy: chance for 10 classes


def _run(tmp_path, studies, quality=None, **changes) -> Run:
    cfg = synthetic.config(studies, seeds=4)
    for study, keys in changes.items():
        cfg["studies"][study].update(keys)
    inputs = synthetic.write_inputs(tmp_path, cfg, quality)
    return Run(Tables(inputs.metrics_dir, inputs.summary_csv), inputs.config, [], [], [], {})


def _cell(ctx, label, column=0):
    row = next(r for r in ctx["rows"] if r["label"] == label)
    return [c for c in row["cells"] if c["ours"] is not None][column]


def test_flag_untrained_counts_the_runs():
    assert flag_untrained("10.0 %", [True] * 5) == (f"{DID_NOT_TRAIN}: 10.0 %", True)
    assert flag_untrained("10.0 %", [True] * 5, keep_value=False) == (DID_NOT_TRAIN, True)
    assert flag_untrained("55.0 %", [True, False, False]) == (f"55.0 % (1 of 3 runs {DID_NOT_TRAIN})", True)
    assert flag_untrained("80.0 %", [False] * 5) == ("80.0 %", False)


def test_classes_are_read_off_the_output_layer(tmp_path):
    run = _run(tmp_path, ["same_weights", "table1"])
    assert n_classes(run.tables, "table1") == {"mnist1d": 10, "shapeset": 9}
    assert n_classes(run.tables, "same_weights") == {"toy1d": 2}
    assert n_classes(run.tables, "depth") == {}  # not run


def test_table1_cell_at_chance_shows_no_error_rate(tmp_path):
    run = _run(tmp_path, ["table1"], {("table1", "sigmoid", "default"): AT_CHANCE})
    ctx = table1.table1(run)
    sigmoid = _cell(ctx, "Sigmoid")
    assert sigmoid["ours"] == DID_NOT_TRAIN and sigmoid["untrained"]
    assert "%" not in sigmoid["ours"] and "±" not in sigmoid["ours"]
    tanh = _cell(ctx, "Tanh")
    assert not tanh["untrained"] and "±" in tanh["ours"]
    assert ctx["flagged"] and "chance + 10 points" in ctx["rule"] and "10 % for 10 classes" in ctx["rule"]


def test_table1_trained_cells_are_not_flagged(tmp_path):
    ctx = table1.table1(_run(tmp_path, ["table1"]))  # synthetic sigmoid nets reach 35 %
    assert not ctx["flagged"] and ctx["rule"] == ""
    assert all(not c["untrained"] for r in ctx["rows"] for c in r["cells"] if c["ours"] is not None)


def test_table1_says_which_datasets_are_theirs(tmp_path):
    ctx = table1.table1(_run(tmp_path, ["table1"]))
    assert ctx["same_data"] == "shapeset is their Shapeset-3×2"
    assert ctx["other_data"] == "mnist1d (mnist1d)"
    # the paper's MNIST and CIFAR-10 columns stay as reference, with the published numbers
    theirs = [g["paper"] for g in ctx["groups"] if g["dataset"] is None]
    assert theirs == ["MNIST", "CIFAR-10"]
    tanh = next(r for r in ctx["rows"] if r["label"] == "Tanh")
    assert [c["published"] for c in tanh["cells"]] == ["27.15", None, "1.76", "55.9"]


def test_table1_on_mnist_puts_the_published_number_beside_ours(tmp_path):
    ctx = table1.table1(_run(tmp_path, ["table1"], table1={"dataset": "mnist"}))
    groups = [(g["dataset"], g["paper"]) for g in ctx["groups"]]
    assert groups == [("mnist", "MNIST"), (None, "Shapeset-3×2"), (None, "CIFAR-10")]
    assert ctx["same_data"] == "mnist is their MNIST" and ctx["other_data"] == ""
    softsign_n = next(r for r in ctx["rows"] if r["label"] == "Softsign N")
    assert "±" in softsign_n["cells"][0]["ours"] and softsign_n["cells"][0]["published"] == "1.72"


def test_table1_rows_left_out_are_listed_with_the_theory(tmp_path):
    run = _run(tmp_path, ["table1"], table1={"activation": ["tanh", "softsign"]})
    ctx = table1.table1(run)
    sigmoid = next(r for r in ctx["rows"] if r["label"] == "Sigmoid")
    assert sigmoid["not_run"] and [c["ours"] for c in sigmoid["cells"] if c["ours"]] == ["not run"] * 2
    assert "2.21" in [c["published"] for c in sigmoid["cells"]]
    (why,) = ctx["left_out"]
    assert why["label"] == "Sigmoid" and why["escape_epoch"] == "100" and why["depth"] == "5"
    # the theory: sigmoid's gradient at layer 1 is orders of magnitude below tanh's and softsign's
    ratio = float(why["ratio"])
    others = dict(part.split() for part in why["others"].replace(" and ", ", ").split(", "))
    assert 0 < ratio < 0.01 * min(float(v) for v in others.values())
    assert set(others) == {"softsign", "tanh"}
    assert why["steps"] == str(4 * (10000 // 1000))  # 4 epochs of 10 steps (synthetic shapeset, batch 1000)


def test_lab_at_chance_keeps_its_number_and_the_published_one(tmp_path):
    ctx = labs.xavier_lab(_run(tmp_path, ["xavier_lab"]))  # synthetic U(0, 1): 11 %, published 11 %
    uniform = next(r for r in ctx["rows"] if r["init"] == "uniform(0,1)")
    assert uniform["untrained"] and uniform["ours"].startswith(f"{DID_NOT_TRAIN}: ")
    assert "%" in uniform["ours"] and uniform["published"] == "11 %"
    xavier = next(r for r in ctx["rows"] if r["init"] == "xavier_uniform")
    assert not xavier["untrained"] and DID_NOT_TRAIN not in xavier["ours"]
    assert "chance + 10 points" in ctx["untrained_rule"]


def test_depth_flags_the_stalled_cells_and_hatches_them(tmp_path):
    run = _run(tmp_path, ["depth"], {("depth", "relu", "xavier_uniform"): AT_CHANCE})
    ctx = depth.depth(run)
    rows = {(r["activation"], r["init"]): r for r in ctx["rows"]}
    assert rows[("relu", "xavier_uniform")]["untrained"]
    assert rows[("relu", "xavier_uniform")]["acc"].startswith(DID_NOT_TRAIN)
    assert not rows[("relu", "he_uniform")]["untrained"]
    fig = depth_figures.fig_depth_heatmap(run.tables, run.config)
    titles = {ax.get_title().split(",")[0]: ax for ax in fig.axes}
    s = run.tables.get("summary", "depth")
    for act in ("relu", "tanh"):
        best = s[s["activation"] == act].groupby(["init", "depth"])["final_val_accuracy"].max()
        hatched = sum(bool(p.get_hatch()) for p in titles[act].patches)
        assert hatched == int((best < 0.2).sum())  # every run of the cell below chance + 10 points
    n_depths = len(run.config["studies"]["depth"]["depth"])
    assert sum(bool(p.get_hatch()) for p in titles["relu"].patches) >= n_depths  # Xavier, at every depth


def test_a_lab_that_stops_before_the_published_epoch_says_so(tmp_path):
    full = labs.xavier_lab(_run(tmp_path / "full", ["xavier_lab"]))  # synthetic: the lab's 15 epochs
    assert full["epoch"] == full["pub_epoch"] == "15" and not full["short"]
    t = {"lr": 0.01, "momentum": 0.0, "batch_size": 2000, "epochs": 5}
    short = labs.xavier_lab(_run(tmp_path / "short", ["xavier_lab"], xavier_lab={"training": t}))
    assert short["epoch"] == "5" and short["short"]

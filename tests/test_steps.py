"""``training.steps``: a run of a fixed number of SGD steps, its last epoch short, resumable."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from conftest import REPO, SCHEMA
from initbench import config as ibconfig
from initbench import grid
from initbench.train import train_pack
from test_train import EQUAL, killed_after_epoch_2, make_data, pack


def test_steps_end_the_run_mid_epoch_and_the_short_epoch_is_recorded():
    data = make_data(n=100, dtype=torch.float64)  # batch 32: 4 steps per epoch
    by_steps = train_pack(pack(EQUAL, epochs=None, steps=10), data, progress=False)
    by_epochs = train_pack(pack(EQUAL, epochs=3), data, progress=False)
    it = by_steps.iterations
    assert sorted(set(it["iteration"])) == list(range(10)) and len(it) == 10 * len(EQUAL)
    assert it.groupby("epoch")["iteration"].nunique().to_dict() == {1: 4, 2: 4, 3: 2}
    # the same data order: the first 10 steps are the epochs run's first 10, bit for bit
    first = by_epochs.iterations[by_epochs.iterations["iteration"] < 10].reset_index(drop=True)
    pd.testing.assert_frame_equal(it.reset_index(drop=True), first, check_exact=True)
    ep = by_steps.epochs
    assert sorted(set(ep["epoch"])) == [0, 1, 2, 3] and ep["val_loss"].notna().all()
    short = ep[ep["epoch"] == 3].set_index("variant")["train_loss"]
    expected = it[it["epoch"] == 3].groupby("variant")["loss"].mean()  # two full batches
    assert (short - expected).abs().max() < 1e-12
    assert by_steps.summary["epochs"].tolist() == [3] * len(EQUAL) and by_steps.meta["steps"] == 10
    layers = by_steps.layers
    assert sorted(set(layers["epoch"])) == [0, 1, 2, 3]


def test_fewer_steps_than_one_epoch():
    result = train_pack(pack(EQUAL[:2], epochs=None, steps=3), make_data(n=100), progress=False)
    assert sorted(set(result.iterations["iteration"])) == [0, 1, 2]
    assert result.summary["epochs"].tolist() == [1, 1] and result.meta["epochs_run"] == 1


def test_epochs_and_steps_one_clear_error_each():
    with pytest.raises(ValueError, match="give exactly one of epochs and steps, got epochs=2, steps=5"):
        pack(EQUAL[:1], epochs=2, steps=5)
    with pytest.raises(ValueError, match="give exactly one of epochs and steps"):
        pack(EQUAL[:1], epochs=None)
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        pack(EQUAL[:1], epochs=None, steps=0)


def _config(training: dict) -> dict:
    cfg = ibconfig.load(REPO / "tests/config/tiny.yaml", SCHEMA)
    study = next(iter(cfg["studies"].values()))
    study["training"] = {
        k: v for k, v in study["training"].items() if k not in ("epochs", "steps")
    } | training
    return ibconfig.validate(cfg, SCHEMA)


def test_the_grid_passes_steps_and_precision_and_checks_the_pair():
    cfg = _config({"steps": 7})
    cfg["precision"] = "bf16"
    grid.check(cfg)
    name = next(iter(cfg["studies"]))
    spec = next(p for (s, _), p in grid.packs(cfg).items() if s == name)
    assert spec["steps"] == 7 and spec["epochs"] is None and spec["precision"] == "bf16"
    for training, got in (({"steps": 7, "epochs": 2}, "epochs and steps"), ({}, "neither")):
        with pytest.raises(
            grid.GridError, match=f"studies.{name}.training: give exactly one of epochs .* got {got}"
        ):
            grid.check(_config(training))


def test_sigkill_mid_run_then_resume_gives_the_same_rows(tmp_path):
    data = make_data(n=200, dtype=torch.float32)  # batch 16: 13 steps per epoch
    spec = pack(EQUAL, epochs=None, steps=45, batch_size=16)  # 4 epochs, the last of 6 steps
    ckpt = killed_after_epoch_2(tmp_path, spec, data)
    lines = []
    resumed = train_pack(spec, data, checkpoint=ckpt, log=lines.append)
    assert lines[0].startswith(f"resumed from {ckpt} after epoch 2/4")
    whole = train_pack(spec, data, progress=False)
    for table in ("iterations", "epochs", "layers", "histograms", "summary"):
        pd.testing.assert_frame_equal(getattr(resumed, table), getattr(whole, table), check_exact=True)
    assert resumed.meta["steps"] == whole.meta["steps"] == 45

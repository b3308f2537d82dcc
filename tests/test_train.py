"""The pack trainer against separate training, divergence, checkpoints, bad input, output files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from initbench import inits, schema
from initbench.checkpoint import CheckpointMismatch
from initbench.models import MLPSpec, build_module
from initbench.train import PackSpec, VariantSpec, data_generator, train_pack

SRC = Path(__file__).resolve().parents[1] / "src"


def make_data(n=150, dim=6, classes=3, dtype=torch.float64, seed=0) -> dict:
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=g, dtype=dtype) * 2
    data = {}
    for split, size in (("train", n), ("val", 60), ("test", 50)):
        y = torch.randint(0, classes, (size,), generator=g)
        data[f"x_{split}"] = centers[y] + torch.randn(size, dim, generator=g, dtype=dtype)
        data[f"y_{split}"] = y
    return data


# Mixed inits, two seeds, some momentum; seed 1 has one variant less in the unequal case.
EQUAL = [
    ("default", 0, 0.1, 0.0), ("xavier_uniform", 0, 0.05, 0.9), ("uniform(-1,1)", 0, 0.1, 0.5),
    ("lsuv", 1, 0.1, 0.0), ("he_normal", 1, 0.02, 0.9), ("ones", 1, 0.1, 0.0),
]  # fmt: skip
UNEQUAL = EQUAL[:5]


def pack(variants, **kw) -> PackSpec:
    base = dict(hidden=[7, 5], activation="tanh", batch_size=32, epochs=3, stats_samples=64)
    return PackSpec(**(base | kw), variants=[VariantSpec(*v) for v in variants])


def reference(spec: PackSpec, v: VariantSpec, data: dict):
    """One variant the plain way: nn.Module, torch.optim.SGD, and the per-seed data order."""
    x, y = data["x_train"], data["y_train"]
    mlp = MLPSpec(x.shape[1], tuple(spec.hidden), int(y.max()) + 1, spec.activation)
    net = build_module(mlp).to(x.dtype)
    start = inits.init_params(
        v.init, mlp.sizes, v.seed, data=x[: spec.stats_samples].float(), activation=spec.activation
    )
    with torch.no_grad():
        for p, t in zip(net.parameters(), [t for layer in start for t in layer], strict=True):
            p.copy_(t)
    optimizer = torch.optim.SGD(net.parameters(), lr=v.lr, momentum=v.momentum)
    criterion, order = nn.CrossEntropyLoss(), data_generator(v.seed)

    def validate():
        with torch.no_grad():
            out = net(data["x_val"])
            return criterion(out, data["y_val"]).item(), (
                out.argmax(1) == data["y_val"]
            ).double().mean().item()

    losses, curve = [], [validate()]
    for _ in range(spec.epochs):
        perm = torch.randperm(len(x), generator=order)
        for lo in range(0, len(x), spec.batch_size):  # the last, partial batch included
            idx = perm[lo : lo + spec.batch_size]
            loss = criterion(net(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        curve.append(validate())
    return [p.detach() for p in net.parameters()], losses, curve


@pytest.mark.parametrize("variants", [EQUAL, UNEQUAL], ids=["equal-groups", "unequal-groups"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_pack_equals_separate_training(variants, dtype):
    data = make_data(dtype=dtype)
    spec = pack(variants)
    result = train_pack(spec, data, progress=False)
    for i, v in enumerate(spec.variants):
        params, losses, curve = reference(spec, v, data)
        ours = [t for w, b in zip(*result.params[i], strict=True) for t in (w, b)]
        assert max((a - b).abs().max().item() for a, b in zip(ours, params, strict=True)) <= 1e-5
        rows = result.iterations[result.iterations["variant"] == result.summary["variant"][i]]
        assert rows["iteration"].tolist() == list(range(len(losses)))
        assert (rows["loss"].to_numpy() - losses).__abs__().max() <= 1e-5
        ep = result.epochs[result.epochs["variant"] == result.summary["variant"][i]]
        assert ep["epoch"].tolist() == [0, 1, 2, 3]
        assert (ep["val_loss"].to_numpy() - [c[0] for c in curve]).__abs__().max() <= 1e-5
        assert ep["val_accuracy"].tolist() == pytest.approx([c[1] for c in curve], abs=1e-12)


def test_the_toy_lab_reproduces_the_published_parameters():
    """Same-weights lab: ones init, sigmoid 1-2-1, hand-written BCE, lr 0.1, 1000 epochs in order."""
    x = torch.arange(-20, 20, 1).view(-1, 1).float()
    y = ((x[:, 0] > -4) & (x[:, 0] < 4)).float()
    data = {"x_train": x, "y_train": y, "x_val": x, "y_val": y, "x_test": x, "y_test": y}
    spec = PackSpec(
        hidden=[2], activation="sigmoid", output_activation="sigmoid", loss="bce", shuffle=False,
        batch_size=1, epochs=1000, histograms=False, record_hidden=True,
        variants=[VariantSpec("ones", 0, 0.1), VariantSpec("default", 0, 0.1)],
    )  # fmt: skip
    result = train_pack(spec, data, progress=False)
    (w1, w2), (b1, b2) = result.params[0]
    assert w1[:, 0].tolist() == pytest.approx([1.9340, 1.9340], abs=5e-5)
    assert b1.tolist() == pytest.approx([-9.0725, -9.0725], abs=5e-5)
    assert w2[0].tolist() == pytest.approx([-3.3976, -3.3976], abs=5e-5)
    assert b2.item() == pytest.approx(-0.6546, abs=5e-5)
    last = result.epochs[result.epochs["epoch"] == 1000].set_index("init")["train_loss"] * 40
    assert last["ones"] == pytest.approx(15, abs=0.5) and last["default"] < 0.3  # summed over 40 points
    hidden = result.hidden[result.hidden["init"] == "ones"].pivot(
        index="sample", columns="unit", values="value"
    )
    assert len(hidden) == 40 and (hidden[1] == hidden[2]).all()  # on the diagonal
    sym = result.layers[(result.layers["init"] == "ones") & (result.layers["layer"] == 1)]["symmetry"]
    assert len(sym) == 1001 and (sym == 0).all()


def test_a_diverging_variant_stops_and_the_others_carry_on():
    data = make_data(n=120, dtype=torch.float64)
    # a deep linear net from U(0, 1) with lr 10 overflows within a few steps (a ReLU one recovers:
    # its units die after the first huge step and the loss returns to log 3)
    deep = dict(hidden=[32] * 6, activation="identity", epochs=3)
    calm = [("default", 0, 0.01, 0.0), ("xavier_uniform", 1, 0.002, 0.5)]
    result = train_pack(pack([("uniform(0,1)", 0, 10.0, 0.0), *calm], **deep), data, progress=False)
    alone = train_pack(pack(calm, **deep), data, progress=False)
    s = result.summary
    assert s["diverged"].tolist() == [True, False, False]
    stop = int(s["diverged_epoch"][0])
    ep = result.epochs[result.epochs["init"] == "uniform(0,1)"]
    assert ep["epoch"].tolist() == list(range(stop + 1)) and ep["diverged"].tolist() == [False] * stop + [
        True
    ]
    it = result.iterations[result.iterations["init"] == "uniform(0,1)"]["loss"]
    assert (
        not torch.isfinite(torch.tensor(it.iloc[-1]))
        and torch.isfinite(torch.tensor(it.iloc[:-1].to_numpy())).all()
    )
    assert all(
        torch.isfinite(t).all() for layer in result.params[0] for t in layer
    )  # frozen before the bad step
    assert pd.isna(s["final_val_accuracy"][0]) and pd.isna(s["test_loss"][0])
    # the others trained exactly as in a pack without the diverging variant
    for i in (1, 2):
        for a, b in zip(result.params[i][0], alone.params[i - 1][0], strict=True):
            assert (a - b).abs().max() <= 1e-10
    assert result.epochs[result.epochs["init"] != "uniform(0,1)"]["epoch"].max() == 3


def test_a_pack_whose_variants_all_diverge_still_gives_its_tables():
    spec = pack(
        [("uniform(0,1)", 0, 10.0, 0.0), ("uniform(0,1)", 1, 10.0, 0.0)],
        hidden=[32] * 6,
        activation="identity",
    )
    result = train_pack(spec, make_data(n=120), progress=False)
    assert result.summary["diverged"].all() and result.summary["test_loss"].isna().all()
    assert result.epochs.groupby("variant")["diverged"].last().all()


CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import torch
    from initbench.train import PackSpec, train_pack

    spec = PackSpec.from_dict(json.loads(Path(sys.argv[1]).read_text()))
    data = torch.load(sys.argv[2])

    def log(line):
        print(line, flush=True)
        if line.startswith("epoch 2/"):
            time.sleep(600)  # the parent SIGKILLs us here, right after epoch 2's checkpoint

    train_pack(spec, data, checkpoint=Path(sys.argv[3]), log=log)
    """
)


def killed_after_epoch_2(tmp_path: Path, spec, data) -> Path:
    """Train ``spec`` in a child process with a checkpoint, SIGKILL it right after epoch 2's
    checkpoint, and return the checkpoint's path."""
    (tmp_path / "spec.json").write_text(json.dumps(spec.to_dict()))
    torch.save(data, tmp_path / "data.pt")
    (tmp_path / "child.py").write_text(CHILD)
    ckpt = tmp_path / "run" / "ckpt.pt"
    args = [sys.executable, *(str(tmp_path / f) for f in ("child.py", "spec.json", "data.pt")), str(ckpt)]
    child = subprocess.Popen(
        args, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}
    )
    try:
        for line in child.stdout:
            if line.startswith("epoch 2/"):
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL and ckpt.exists()
    return ckpt


def test_sigkill_then_resume_gives_bitwise_the_same_results(tmp_path):
    data = make_data(n=200, dtype=torch.float32)
    spec = pack(EQUAL, epochs=4, batch_size=16)
    ckpt = killed_after_epoch_2(tmp_path, spec, data)
    assert [p.name for p in ckpt.parent.iterdir()] == ["ckpt.pt"]  # no half-written temp file left
    lines = []
    resumed = train_pack(spec, data, checkpoint=ckpt, log=lines.append)
    assert lines[0].startswith(f"resumed from {ckpt} after epoch 2/4")
    whole = train_pack(spec, data, progress=False)
    for table in ("iterations", "epochs", "layers", "histograms", "summary"):
        pd.testing.assert_frame_equal(getattr(resumed, table), getattr(whole, table), check_exact=True)
    for a, b in zip(resumed.params, whole.params, strict=True):
        assert all(
            torch.equal(x, y) for xs, ys in zip(a, b, strict=True) for x, y in zip(xs, ys, strict=True)
        )


def test_a_checkpoint_of_another_spec_is_refused(tmp_path):
    data = make_data(n=60)
    ckpt = tmp_path / "ckpt.pt"
    train_pack(pack(EQUAL[:2], epochs=1), data, checkpoint=ckpt, progress=False)
    with pytest.raises(CheckpointMismatch, match=str(ckpt)):
        train_pack(pack(EQUAL[:2], epochs=2), data, checkpoint=ckpt, progress=False)
    with pytest.raises(CheckpointMismatch, match="different pack spec or data"):
        train_pack(pack(EQUAL[:2], epochs=1), make_data(n=60, seed=1), checkpoint=ckpt, progress=False)
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        train_pack(pack(EQUAL[:2], epochs=1), data, checkpoint=ckpt, progress=False)


def test_checkpoints_are_spaced_by_checkpoint_every_s(tmp_path, monkeypatch):
    """0 saves at every epoch end; a long interval saves none in a short run (the job then has
    nothing to resume, and starts over: the same numbers, a little more time)."""
    from initbench import checkpoint as ckpt_module

    saves = []
    real = ckpt_module.save
    monkeypatch.setattr(ckpt_module, "save", lambda *a, **k: (saves.append(a[1]["epoch"]), real(*a, **k)))
    data = make_data(n=60)
    train_pack(pack(EQUAL[:2], epochs=3), data, checkpoint=tmp_path / "a.pt", progress=False)
    assert len(saves) == 3
    saves.clear()
    train_pack(
        pack(EQUAL[:2], epochs=3), data, checkpoint=tmp_path / "b.pt", progress=False, checkpoint_every_s=1e9
    )
    assert saves == [] and not (tmp_path / "b.pt").exists()


def test_write_gives_schema_complete_files(tmp_path):
    variants = [
        VariantSpec(
            "default", 0, 0.1, columns={"study": "s1", "dataset": "blobs", "variant": "a", "pack": "p0"}
        ),
        VariantSpec(
            "xavier_normal", 0, 0.1, columns={"study": "s1", "dataset": "blobs", "variant": "b", "pack": "p0"}
        ),
    ]
    spec = PackSpec(
        hidden=[5, 4], activation="softsign", batch_size=25, epochs=2, variants=variants, record_hidden=True
    )
    result = train_pack(spec, make_data(n=50), progress=False)
    result.write(tmp_path)
    for table in schema.METRIC_TABLES:
        df = schema.read(tmp_path / f"{table}.parquet", table)
        assert len(df) and set(df["variant"]) == {"a", "b"} and set(df["study"]) == {"s1"}
        assert (df["pack"] == "p0").all()
    summary = schema.read(tmp_path / "variants.csv", "summary")
    assert summary["hidden"].tolist() == ["5-4", "5-4"] and summary["bias_policy"].tolist() == [
        "default",
        "zero",
    ]
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert {
        "device",
        "torch_version",
        "threads",
        "cpu_model",
        "gpu_model",
        "deterministic",
        "seconds",
        "iterations_per_s",
    } <= set(meta)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # temp files renamed away


def test_from_dict_takes_the_grid_json():
    d = {
        "study": "xavier_lab", "pack": "mnist-h100-tanh", "dataset": "mnist",  # the grid's labels: ignored
        "depth": 2, "width": 8, "activation": "tanh", "batch_size": 4, "epochs": 1,
        "variants": [{"init": "uniform(-1,1)", "seed": 3, "lr": 0.01, "columns": {"variant": "v"}}],
    }  # fmt: skip
    spec = PackSpec.from_dict(d)
    assert spec.hidden == [8, 8] and spec.variants[0].init == "uniform(-1,1)"
    with pytest.raises(ValueError, match="unknown pack spec keys \\['epoch'\\]; valid keys are: hidden"):
        PackSpec.from_dict({**d, "epoch": 3})


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(variants=[("glorot", 0, 0.1, 0.0)]), "unknown init 'glorot'; valid inits are: default"),
        (dict(activation="swish"), "unknown activation 'swish'; valid activations are: tanh"),
        (dict(hidden=[]), "at least one hidden layer"),
        (dict(hidden=[4, 0]), "got 0 in \\[4, 0\\]"),
        (dict(variants=[]), "at least one variant"),
        (dict(variants=[("default", 0, 0.0, 0.0)]), "lr must be a finite number > 0, got 0.0"),
        (dict(variants=[("default", 0, -1, 0.0)]), "lr must be a finite number > 0, got -1"),
        (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
        (dict(epochs=0), "epochs must be an integer >= 1, got 0"),
        (dict(loss="mse"), "unknown loss 'mse'; valid losses are: cross_entropy, bce"),
        (dict(loss="bce"), "needs output_activation 'sigmoid'"),
        (dict(variants=[("default", 0, 0.1, 0.0), ("default", 0, 0.1, 0.0)]), "variant ids must be unique"),
    ],
)
def test_bad_specs_raise_value_error(change, match):
    variants = change.pop("variants", EQUAL[:1])
    with pytest.raises(ValueError, match=match):
        pack(variants, **change)


def test_bad_data_and_device_raise_value_error(monkeypatch):
    spec, data = pack(EQUAL[:1], epochs=1), make_data(n=40)
    with pytest.raises(ValueError, match="data lacks \\['x_test'\\]"):
        train_pack(spec, {k: v for k, v in data.items() if k != "x_test"}, progress=False)
    with pytest.raises(ValueError, match="needs int64 class ids"):
        train_pack(spec, data | {"y_val": data["y_val"].double()}, progress=False)
    monkeypatch.delenv("INITBENCH_DEVICE", raising=False)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        train_pack(spec, data, device="tpu", progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            train_pack(spec, data, device="cuda", progress=False)
    monkeypatch.setenv("INITBENCH_DEVICE", "cpu")  # the variable wins over the argument
    assert train_pack(spec, data, device="cuda", progress=False).meta["device"] == "cpu"


def test_progress_lines_have_an_eta():
    lines = []
    train_pack(pack(EQUAL[:2], epochs=2), make_data(n=40), log=lines.append)
    assert len(lines) == 2 and all("ETA" in line for line in lines) and lines[1].startswith("epoch 2/2")

"""The pack trainer: K MLP variants of one architecture trained at once, as K separate runs would be.

A pack shares the layer sizes, activation, batch size and epochs; each variant has its own init,
seed, learning rate and momentum. All K models run in one batched matmul per layer
(``models.packed_forward``) and one backward of the summed per-variant mean losses. The variants
share no parameter, so each one's gradient is its own; the SGD step is ``torch.optim.SGD``'s with
lr and momentum per variant (``optim.SGD``). A test checks the pack against the same variants
trained one by one with ``nn.Module`` + ``torch.optim.SGD``.

Data order: each seed's own generator (``batches.BatchOrder``), so variants that share a seed see
the same batches whatever their init (paired comparisons). Batches are gathered once per seed and
shared by that seed's variants.

Speed (CPU): variants are sorted by seed, so the variants of one seed share one gathered batch
and the first layer, most of the FLOPs, runs as one large matmul per seed; gradients are written
out by hand (``models.packed_backward``); a large batch runs in cache-sized parts whose gradients
are summed. Evaluation (every epoch, on shared eval batches) and the layer probe run once per epoch.

Divergence: a variant whose training loss is non-finite stops there. Its parameters stay as they
were before that step; its rows end with that epoch (``diverged=True``, val metrics NaN) and its
summary has ``diverged_epoch`` and NaN final metrics. The other variants carry on.

Usage (what ``workflow/scripts/train.py`` does)::

    result = train_pack(PackSpec.from_dict(json_spec), data, checkpoint=Path("ckpt.pt"))
    result.write(outdir)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from initbench import checkpoint as ckpt
from initbench import devices, inits, layerstats
from initbench.batches import BatchOrder
from initbench.optim import SGD
from initbench.packsize import EVAL_CHUNK_ELEMENTS, TRAIN_PART_ELEMENTS  # caps the estimate relies on
from initbench.packspec import SPLITS, PackSpec, VariantSpec, check_data, data_generator
from initbench.results import PackResult, Rows, build_result, machine_meta

__all__ = ["PackResult", "PackSpec", "VariantSpec", "check_data", "data_generator", "train_pack"]
from initbench.models import (
    MLPSpec,
    packed_backward,
    packed_correct,
    packed_forward,
    packed_loss,
)


def resolve_device(device: str | None = None) -> torch.device:
    """``devices.resolve``'s choice (``$INITBENCH_DEVICE``, else ``device``, else cuda, mps, cpu),
    checked to exist here."""
    dev = torch.device(devices.resolve(device or "auto"))
    if (dev.type == "cuda" and not torch.cuda.is_available()) or (
        dev.type == "mps" and not torch.backends.mps.is_available()
    ):
        raise ValueError(f"device {str(dev)!r} requested but {dev.type.upper()} is not available here")
    return dev


def train_pack(
    spec: PackSpec,
    data: Mapping[str, torch.Tensor],
    *,
    checkpoint: Path | None = None,
    device: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> PackResult:
    """Train every variant of ``spec`` on ``data``; resume from ``checkpoint`` if it exists.

    ``data``: x_* float (N, D) (float64 trains in float64), y_* int64 class ids, or float 0/1 for
    ``loss="bce"``. The checkpoint is rewritten atomically at each epoch end.
    """
    spec.validate()
    check_data(data, spec.loss)
    dev = resolve_device(device)
    run = _Pack(spec, data, dev)
    digest = ckpt.spec_hash(spec.to_dict(), data) if checkpoint else ""
    saved = ckpt.load(checkpoint, digest, dev) if checkpoint else None
    if saved is not None:
        run.load_state(saved)
        if progress:
            log(f"resumed from {checkpoint} after epoch {run.epoch}/{spec.epochs}")
    else:
        run.start()
    begun, first_epoch = time.perf_counter(), run.epoch
    while run.epoch < spec.epochs and run.active.numel():
        run.train_epoch()
        if checkpoint:
            ckpt.save(checkpoint, run.state(), digest)
        if progress:
            eta = (time.perf_counter() - begun) / (run.epoch - first_epoch) * (spec.epochs - run.epoch)
            log(
                f"epoch {run.epoch}/{spec.epochs}: {run.active.numel()}/{len(spec.variants)} variants "
                f"training, {run.seconds:.1f} s, ETA {eta:.0f} s"
            )
    return run.finish()


class _Pack:
    """The state of one pack run: stacked parameters of the active variants, RNGs, rows so far."""

    def __init__(self, spec: PackSpec, data, device):
        self.spec, self.device = spec, device
        self.data = {k: v.to(device) for k, v in data.items()}
        if spec.loss == "bce":
            for k in ("y_train", "y_val", "y_test"):
                self.data[k] = self.data[k].to(data["x_train"].dtype)
        n_out = (
            1
            if spec.loss == "bce"
            else 1 + int(max(int(data[k].max()) for k in SPLITS[1::2] if data[k].numel()))
        )
        self.mlp = MLPSpec(
            data["x_train"].shape[1], tuple(spec.hidden), n_out, spec.activation, spec.output_activation
        )
        self.probe_x = self.data["x_train"][: spec.stats_samples]
        self.probe_y = self.data["y_train"][: spec.stats_samples]
        self.lsuv_batch = data["x_train"][: spec.stats_samples].to("cpu", torch.float32)
        # Variants sorted by seed: each seed's variants are contiguous in the stack, so they can
        # share one gathered batch and the first layer runs as one large matmul per seed.
        self.active = torch.tensor(sorted(range(len(spec.variants)), key=lambda i: spec.variants[i].seed))
        self.order = BatchOrder([v.seed for v in spec.variants], data["x_train"].shape[0], spec.shuffle)
        self.epoch, self.step = 0, 0
        self.clock, self.prior_seconds = time.perf_counter(), 0.0  # prior: before a resume
        self.diverged: dict[int, int] = {}  # variant index -> epoch it diverged in
        self.frozen: dict[int, list] = {}  # variant index -> [weights, biases] when it stopped
        self.rows = Rows()

    @property
    def seconds(self) -> float:
        """Wall time of the whole run so far, the part before a resume included."""
        return self.prior_seconds + time.perf_counter() - self.clock

    # ---- set-up and checkpoint state ----
    def start(self) -> None:
        """Initialise every variant (inits.init_params), then evaluate and probe them: epoch 0."""
        layers = [
            inits.init_params(
                v.init,
                self.mlp.sizes,
                v.seed,
                data=self.lsuv_batch,
                activation=self.spec.activation,
                bias=v.bias,
            )
            for v in (self.spec.variants[i] for i in self.active.tolist())
        ]
        dtype, n_layers = self.data["x_train"].dtype, len(self.mlp.sizes) - 1
        weights, biases = (
            [torch.stack([lay[i][j] for lay in layers]).to(self.device, dtype) for i in range(n_layers)]
            for j in (0, 1)
        )
        self._set_params(weights, biases)
        untrained = torch.full((self.active.numel(),), math.nan, dtype=torch.float64)
        self._record_eval(0, untrained, histograms=self.spec.histograms)

    def state(self) -> dict:
        self.rows.consolidate()
        return {
            "epoch": self.epoch, "step": self.step, "seconds": self.seconds, "active": self.active,
            "weights": self.weights, "biases": self.biases,
            "bufs": self.sgd.bufs, "generators": self.order.state(),
            "diverged": self.diverged, "frozen": self.frozen, "rows": self.rows.chunks,
        }  # fmt: skip

    def load_state(self, s: dict) -> None:
        self.epoch, self.step, self.prior_seconds = s["epoch"], s["step"], s["seconds"]
        self.active = s["active"].cpu()
        self._set_params(s["weights"], s["biases"])
        self.sgd.bufs = s["bufs"]
        self.order.load(s["generators"])
        self.diverged, self.frozen, self.rows.chunks = s["diverged"], s["frozen"], s["rows"]

    def _set_params(self, weights, biases, sgd: SGD | None = None) -> None:
        """Take the stacked parameters of the variants in ``self.active``, their optimiser, groups."""
        self.weights, self.biases = list(weights), list(biases)
        vs = [self.spec.variants[i] for i in self.active.tolist()]
        self.sgd = sgd or SGD(
            [v.lr for v in vs], [v.momentum for v in vs], dtype=self.weights[0].dtype, device=self.device
        )
        self._regroup()

    def _regroup(self) -> None:
        """Group the active variants by seed. Equal groups share batches directly; otherwise each
        variant gets its own copy of its seed's batch (``expand``)."""
        seeds = [self.spec.variants[i].seed for i in self.active.tolist()]
        self.group_seeds = sorted(set(seeds))
        counts = [seeds.count(s) for s in self.group_seeds]
        self.expand = None
        if len(set(counts)) > 1:
            self.expand = torch.tensor([self.group_seeds.index(s) for s in seeds], device=self.device)
        self.order.regroup(self.group_seeds, self.device)

    # ---- training ----
    def train_epoch(self) -> None:
        epoch, n, bs = self.epoch + 1, self.data["x_train"].shape[0], self.spec.batch_size
        self.order.start_epoch(self.group_seeds, self.device)
        log = []  # per step: (variant ids, losses, iteration, batch size)
        for lo in range(0, n, bs):
            hi = min(n, lo + bs)
            losses, grads = self._forward_backward(lo, hi)
            bad = ~torch.isfinite(losses)
            while bad.any():  # freeze the variants that diverged, then redo the step without them
                bad = bad.cpu()
                log.append((self.active[bad], losses[bad.to(self.device)], self.step, hi - lo))
                self._diverge(bad, epoch)
                if not self.active.numel():
                    break
                losses, grads = self._forward_backward(lo, hi)
                bad = ~torch.isfinite(losses)
            if not self.active.numel():
                break
            log.append((self.active, losses, self.step, hi - lo))
            self.sgd.step(self.weights + self.biases, grads)
            self.step += 1
        self.order.end_epoch()
        train_loss = self.rows.add_steps(epoch, log, len(self.spec.variants))
        stopped = torch.tensor(sorted(v for v, e in self.diverged.items() if e == epoch), dtype=torch.long)
        if stopped.numel():
            nan = torch.full((stopped.numel(),), math.nan, dtype=torch.float64)
            self.rows.add("epochs", self._epoch_cols(stopped, epoch, train_loss[stopped], nan, nan, True))
        if self.active.numel():
            self._record_eval(epoch, train_loss[self.active], histograms=False)
        self.epoch = epoch

    @torch.no_grad()
    def _forward_backward(self, lo: int, hi: int):
        """Losses (K,) and parameter gradients of the active variants on samples lo:hi of the epoch."""
        xb, yb = self.order.gather(self.data["x_train"], self.data["y_train"], self.order.indices(lo, hi))
        if self.expand is not None:
            xb, yb = xb[self.expand], yb[self.expand]
        # The batch runs in parts of at most TRAIN_PART_ELEMENTS activations, their gradients
        # summed: the same gradient up to float summation order, with cache-sized temporaries.
        spec, batch = self.spec, hi - lo
        parts = -(-self.active.numel() * batch * max(self.mlp.sizes[1:]) // TRAIN_PART_ELEMENTS)
        size = -(-batch // parts)
        losses, grads = 0, None
        for start in range(0, batch, size):
            xp, yp = xb[:, start : start + size], yb[:, start : start + size]
            out, pre, post = packed_forward(
                self.weights, self.biases, xp, spec.activation, spec.output_activation, record=True
            )
            part, dout = packed_loss(out, yp, spec.loss, grad=True, total=batch)
            grads = packed_backward(
                self.weights, xp, pre, post, dout, spec.activation, spec.output_activation,
                keep_dz=False, into=grads,
            )[:2]  # fmt: skip
            losses = losses + part
        return losses, grads[0] + grads[1]

    def _diverge(self, bad, epoch: int) -> None:
        """Freeze the variants at ``bad`` positions (their pre-step parameters) and drop them."""
        for slot in bad.nonzero().flatten().tolist():
            v = int(self.active[slot])
            self.diverged[v] = epoch
            self.frozen[v] = [
                [w[slot].cpu().clone() for w in self.weights],
                [b[slot].cpu().clone() for b in self.biases],
            ]
        keep = ~bad
        keep_dev = keep.to(self.device)
        self.active = self.active[keep]
        sgd = self.sgd
        sgd.keep(keep_dev)
        self._set_params([w[keep_dev] for w in self.weights], [b[keep_dev] for b in self.biases], sgd)

    # ---- evaluation and rows ----
    @torch.no_grad()
    def evaluate(self, split: str):
        """Mean loss and accuracy per active variant on a split, in eval batches shared by all."""
        x, y = self.data[f"x_{split}"], self.data[f"y_{split}"]
        k, n = self.active.numel(), x.shape[0]
        if n == 0 or k == 0:
            nan = torch.full((k,), math.nan, dtype=torch.float64)
            return nan, nan.clone()
        loss_sum = torch.zeros(k, dtype=torch.float64, device=self.device)
        correct = torch.zeros(k, dtype=torch.long, device=self.device)
        # Chunks of at most eval_batch_size samples, smaller when K x chunk x width would pass
        # EVAL_CHUNK_ELEMENTS: the temporaries then stay cache-sized (results differ only by the
        # float summation order).
        width = max(self.mlp.sizes[1:])
        chunk = max(1, min(self.spec.eval_batch_size, EVAL_CHUNK_ELEMENTS // (k * width)))
        for lo in range(0, n, chunk):
            xb, yb = x[lo : lo + chunk].unsqueeze(0), y[lo : lo + chunk].unsqueeze(0)
            out = packed_forward(
                self.weights, self.biases, xb, self.spec.activation, self.spec.output_activation
            )
            loss_sum += packed_loss(out, yb, self.spec.loss).double() * xb.shape[1]
            correct += packed_correct(out, yb, self.spec.loss)
        return (loss_sum / n).cpu(), (correct.double() / n).cpu()

    def _record_eval(self, epoch: int, train_loss, histograms: bool) -> None:
        val_loss, val_acc = self.evaluate("val")
        self.rows.add("epochs", self._epoch_cols(self.active, epoch, train_loss, val_loss, val_acc, False))
        layers, hist = layerstats.probe(
            self.weights, self.biases, self.probe_x, self.probe_y, activation=self.spec.activation,
            output_activation=self.spec.output_activation, loss=self.spec.loss,
            variant_ids=self.active, histograms=histograms,
        )  # fmt: skip
        for table, cols in (("layers", layers), ("histograms", hist)):
            if cols is not None:
                cols["epoch"] = torch.full((len(cols["layer"]),), epoch)
                self.rows.add(table, cols)

    @staticmethod
    def _epoch_cols(variants, epoch, train_loss, val_loss, val_acc, diverged: bool) -> dict:
        k = variants.numel()
        return {
            "variant": variants.clone(), "epoch": torch.full((k,), epoch), "train_loss": train_loss.double(),
            "val_loss": val_loss, "val_accuracy": val_acc, "diverged": torch.full((k,), diverged),
        }  # fmt: skip

    def finish(self) -> PackResult:
        """Test metrics, hidden activations, final parameters and meta; the tables of the run."""
        test_loss, test_acc = self.evaluate("test")
        if self.spec.record_hidden and self.active.numel():
            self.rows.add("hidden", layerstats.hidden_rows(
                self.weights[0], self.biases[0], self.data["x_train"], self.data["y_train"],
                self.spec.activation, self.active,
            ))  # fmt: skip
        params = {
            v: [[w[s].cpu() for w in self.weights], [b[s].cpu() for b in self.biases]]
            for s, v in enumerate(self.active.tolist())
        } | self.frozen
        test = {v: (float(test_loss[s]), float(test_acc[s])) for s, v in enumerate(self.active.tolist())}
        k, seconds = len(self.spec.variants), self.seconds
        meta = machine_meta(self.device) | {
            "seconds": seconds, "k": k, "steps": self.step, "iterations_per_s": self.step / seconds,
            "model_iterations_per_s": sum(len(c["loss"]) for c in self.rows.chunks["iterations"]) / seconds,
            "dtype": str(self.weights[0].dtype), "sizes": self.mlp.sizes,
        }  # fmt: skip
        return build_result(
            self.spec.to_dict(), self.rows, test=test, diverged=self.diverged, meta=meta,
            params=[params[i] for i in range(k)],
        )  # fmt: skip

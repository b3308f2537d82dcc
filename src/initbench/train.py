"""The pack trainer: K MLP variants of one architecture trained at once, as K separate runs would be.

A pack shares the layer sizes, activation, batch size and epochs (or steps); each variant has its
own init, seed, learning rate and momentum. All K models run in one batched matmul per layer
(``models.packed_forward``) and one backward of the summed per-variant mean losses. The variants
share no parameter, so each one's gradient is its own; the SGD step is ``torch.optim.SGD``'s with
lr and momentum per variant (``optim.SGD``). A test checks the pack against the same variants
trained one by one with ``nn.Module`` + ``torch.optim.SGD``.

Layout: the variants sit in *slots*, sorted by seed, in seed groups of equal size
(``batches.seed_groups``; idle padding slots fill a group when seeds have unequal numbers of
variants). A group's batch is gathered once per step (``batches.BatchOrder``: each seed's own
data order, so variants that share a seed see the same batches whatever their init) and its
variants' first layer, most of the FLOPs, runs as one large matmul. The parameters live in one
flat buffer (``params.Layout``), so the update is a few kernels whatever the depth.

A training step never reads anything back to the host (a test checks): its losses go into a
device buffer read once per epoch, and divergence is a mask on the device. A variant whose loss
is non-finite stops there: the mask is sticky, and ``torch.where`` keeps its parameters as they
were before that step (NaN x 0 is NaN, so no multiplication by the mask). At the epoch end its
iteration rows end with the diverging step (its non-finite loss included), its epoch rows end
with that epoch (``diverged=True``, val metrics NaN), its summary has ``diverged_epoch`` and NaN
final metrics, and the slots are compacted into even groups, padding where needed (no batch is
ever copied per variant). The others carry on as if it had never been there.

How the work is cut (training parts, evaluation chunks, probe) is ``packsize.plan``'s: on the CPU
cache-sized, on a GPU from the job's share of its memory (``memory_mb``), so the estimate that
sized the job and the engine agree. ``precision`` (fp32, tf32, bf16) is ``precision.Matmuls``';
``INITBENCH_CUDA_GRAPHS=1`` replays each step as a CUDA graph (``cudagraphs``).

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
from initbench import cudagraphs, devices, layerstats, packsize, params
from initbench.batches import BatchOrder, seed_groups
from initbench.evaluation import evaluate
from initbench.models import MLPSpec, packed_backward, packed_forward, packed_loss
from initbench.optim import SGD
from initbench.packspec import SPLITS, PackSpec, VariantSpec, check_data, data_generator
from initbench.precision import Matmuls
from initbench.results import PackResult, Rows, build_result, machine_meta

__all__ = ["PackResult", "PackSpec", "VariantSpec", "check_data", "data_generator", "train_pack"]


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
    memory_mb: float | None = None,
    checkpoint_every_s: float = 0.0,
) -> PackResult:
    """Train every variant of ``spec`` on ``data``; resume from ``checkpoint`` if it exists.

    ``data``: x_* float (N, D) (float64 trains in float64), y_* int64 class ids, or float 0/1 for
    ``loss="bce"``. The checkpoint is rewritten atomically at an epoch end, the first one at least
    ``checkpoint_every_s`` seconds after the last save (0: every epoch end). ``memory_mb``: this
    job's memory budget on a GPU (its share of it); None takes the whole GPU. The CPU ignores it.
    """
    spec.validate()
    check_data(data, spec.loss)
    if spec.precision == "bf16" and data["x_train"].dtype != torch.float32:
        raise ValueError(f"precision 'bf16' trains float32 data; x_train is {data['x_train'].dtype}")
    dev = resolve_device(device)
    if dev.type == "cuda" and memory_mb is None:
        memory_mb = torch.cuda.mem_get_info(dev)[1] / 2**20
    mm = Matmuls(spec.precision, dev)
    with mm.scope():
        run = _Pack(spec, data, dev, mm, memory_mb)
        digest = ckpt.spec_hash(spec.to_dict(), data) if checkpoint else ""
        saved = ckpt.load(checkpoint, digest, dev) if checkpoint else None
        if saved is not None:
            run.load_state(saved)
            if progress:
                log(f"resumed from {checkpoint} after epoch {run.epoch}/{run.epochs}")
        else:
            run.start()
        begun, first_epoch = time.perf_counter(), run.epoch
        saved_at = begun
        while run.epoch < run.epochs and run.live.numel():
            run.train_epoch()
            if checkpoint and time.perf_counter() - saved_at >= checkpoint_every_s:
                ckpt.save(checkpoint, run.state(), digest)
                saved_at = time.perf_counter()
            if progress:
                eta = (time.perf_counter() - begun) / (run.epoch - first_epoch) * (run.epochs - run.epoch)
                log(
                    f"epoch {run.epoch}/{run.epochs}: {run.live.numel()}/{len(spec.variants)} variants "
                    f"training, {run.seconds:.1f} s, ETA {eta:.0f} s"
                )
        return run.finish()


class _Pack:
    """The state of one pack run: the slots' flat parameters and optimiser, the rows so far."""

    def __init__(self, spec: PackSpec, data, device, mm: Matmuls, memory_mb: float | None):
        self.spec, self.device, self.mm, self.memory_mb = spec, device, mm, memory_mb
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
        self.width = max(self.mlp.sizes[1:])
        self.probe_x = self.data["x_train"][: spec.stats_samples]
        self.probe_y = self.data["y_train"][: spec.stats_samples]
        self.lsuv_batch = data["x_train"][: spec.stats_samples].to("cpu", torch.float32)
        n = data["x_train"].shape[0]
        self.steps_per_epoch = -(-n // spec.batch_size)
        self.epochs = spec.epochs or -(-spec.steps // self.steps_per_epoch)
        self.order = BatchOrder([v.seed for v in spec.variants], n, spec.shuffle)
        self.data_bytes = sum(t.numel() * t.element_size() for t in self.data.values())
        self.epoch, self.step, self.setup_seconds = 0, 0, 0.0
        self.clock, self.prior_seconds = time.perf_counter(), 0.0  # prior: before a resume
        self.diverged: dict[int, int] = {}  # variant index -> epoch it diverged in
        self.frozen: dict[int, list] = {}  # variant index -> [weights, biases] when it stopped
        self.rows = Rows()

    @property
    def seconds(self) -> float:
        """Wall time of the whole run so far, the part before a resume included."""
        return self.prior_seconds + time.perf_counter() - self.clock

    @property
    def live(self):
        """The variants still training, in slot order (CPU)."""
        return self.slots[self.slots >= 0]

    # ---- set-up, layout and checkpoint state ----
    def start(self) -> None:
        """Initialise every variant (``inits.init_params``, bit for bit), then evaluate and probe
        them: epoch 0."""
        begun = time.perf_counter()
        slots, group_seeds = seed_groups({i: v.seed for i, v in enumerate(self.spec.variants)})
        drawn = [None if i < 0 else self.spec.variants[i] for i in slots]
        flat = params.draw(
            params.Layout(self.mlp.sizes, len(slots)),
            [None if v is None else (v.init, v.seed, v.bias) for v in drawn],
            dtype=self.data["x_train"].dtype, device=self.device, data=self.lsuv_batch,
            activation=self.spec.activation,
        )  # fmt: skip
        self._lay_out(slots, group_seeds, flat)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.setup_seconds = time.perf_counter() - begun
        untrained = torch.full((self.live.numel(),), math.nan, dtype=torch.float64)
        self._record_eval(0, untrained, histograms=self.spec.histograms)

    def state(self) -> dict:
        self.rows.consolidate()
        return {
            "epoch": self.epoch, "step": self.step, "seconds": self.seconds,
            "setup_seconds": self.setup_seconds, "slots": self.slots, "group_seeds": self.group_seeds,
            "params": self.flat, "bufs": self.sgd.bufs, "generators": self.order.state(),
            "diverged": self.diverged, "frozen": self.frozen, "rows": self.rows.chunks,
        }  # fmt: skip

    def load_state(self, s: dict) -> None:
        self.epoch, self.step, self.prior_seconds = s["epoch"], s["step"], s["seconds"]
        self.setup_seconds = s["setup_seconds"]
        self._lay_out(s["slots"].tolist(), list(s["group_seeds"]), s["params"], s["bufs"])
        self.order.load(s["generators"])
        self.diverged, self.frozen, self.rows.chunks = s["diverged"], s["frozen"], s["rows"]

    def _lay_out(self, slots: list[int], group_seeds: list[int], flat, bufs=None) -> None:
        """Take the slots (variant index, -1 for padding), their seed groups, flat parameters and
        momentum buffers; set up what the step reads: views, gradients, optimiser, mask, plan."""
        self.slots, self.group_seeds = torch.tensor(slots, dtype=torch.long), list(group_seeds)
        self.layout = params.Layout(self.mlp.sizes, len(slots))
        self.flat = flat
        self.weights, self.biases = self.layout.views(flat)
        self.grad_flat = torch.zeros_like(flat)
        self.grads = self.layout.views(self.grad_flat)
        first = self.spec.variants[0]  # padding slots take its rates, so a grid pack stays uniform
        rates = [self.spec.variants[i] if i >= 0 else first for i in slots]
        self.sgd = SGD(
            self.layout, [v.lr for v in rates], [v.momentum for v in rates],
            dtype=flat.dtype, device=self.device, bufs=bufs,
        )  # fmt: skip
        self.alive = (self.slots >= 0).to(self.device)
        shape = packsize.Shape(
            tuple(self.mlp.sizes), self.spec.batch_size, len(slots), len(group_seeds), self.sgd.use_momentum,
            self.data_bytes, self.data["x_train"].shape[0], self.spec.eval_batch_size,
            self.spec.stats_samples, flat.element_size(),
        )  # fmt: skip
        self.plan = packsize.plan(self.device.type, self.memory_mb, shape)
        self.run_step = self._step
        if cudagraphs.enabled(self.device):
            groups, batch = len(group_seeds), min(self.spec.batch_size, self.data["x_train"].shape[0])
            self.run_step = cudagraphs.GraphedStep(
                self._step, idx_shape=(groups, batch), slots=len(slots), dtype=flat.dtype, device=self.device
            )

    # ---- training ----
    def train_epoch(self) -> None:
        """One epoch (the last one shorter when ``spec.steps`` ends the run within it)."""
        epoch, n, bs = self.epoch + 1, self.data["x_train"].shape[0], self.spec.batch_size
        steps = self.steps_per_epoch
        if self.spec.steps:
            steps = min(steps, self.spec.steps - (epoch - 1) * self.steps_per_epoch)
        losses = torch.empty(steps, len(self.slots), dtype=self.flat.dtype, device=self.device)
        self.order.start_epoch(self.group_seeds, self.device)
        for t in range(steps):
            self.run_step(self.order.indices(t * bs, min(n, t * bs + bs)), losses[t])
        self.order.end_epoch()
        sizes = [min(n, t * bs + bs) - t * bs for t in range(steps)]
        self._end_epoch(epoch, losses.cpu(), sizes)

    @torch.no_grad()
    def _step(self, idx, loss_out) -> None:
        """One SGD step of every slot on the batches at ``idx`` (G, B); the losses go to
        ``loss_out`` (S,). Reads nothing back to the host: no sync on a GPU, a CUDA graph can
        capture it. The batch runs in ``plan.parts`` parts, their gradients summed: the same
        gradient up to float summation order, with bounded temporaries and gathered inputs."""
        spec, mm = self.spec, self.mm
        batch = idx.shape[1]
        size = -(-batch // self.plan.parts(len(self.slots), batch, self.width))
        weights = self.layout.views(mm.operand(self.flat))[0] if mm.bf16 else self.weights
        total = None
        for start in range(0, batch, size):  # each part gathered on its own: (G, part, D) at a time
            xp, yp = self.order.gather(
                self.data["x_train"], self.data["y_train"], idx[:, start : start + size]
            )
            out, pre, post = packed_forward(
                weights, self.biases, xp, spec.activation, spec.output_activation, record=True, mm=mm
            )
            part, dout = packed_loss(out, yp, spec.loss, grad=True, total=batch)
            target = {"out": self.grads} if total is None else {"into": self.grads}
            packed_backward(
                weights, xp, pre, post, dout, spec.activation, spec.output_activation,
                keep_dz=False, mm=mm, **target,
            )  # fmt: skip
            total = part if total is None else total.add_(part)
        loss_out.copy_(total)
        self.alive.logical_and_(torch.isfinite(total))  # sticky: a slot that stopped never resumes
        self.sgd.step(self.flat, self.grad_flat, self.alive)

    def _end_epoch(self, epoch: int, losses, sizes: list[int]) -> None:
        """The epoch's bookkeeping, from its losses (steps, S) read back once: iteration rows up to
        each slot's diverging step, the diverged variants' last rows, compaction, evaluation."""
        live = self.slots >= 0
        bad = ~torch.isfinite(losses) & live
        died = bad.any(0)
        ends = torch.where(died, bad.int().argmax(0) + 1, len(sizes))
        train_loss = self.rows.add_steps(
            epoch, self.slots, losses, self.step, sizes, ends, len(self.spec.variants)
        )
        if not (live & ~died).any():  # all stopped: the steps before the last diverging one count
            self.step += int(ends[live].max()) - 1
        else:
            self.step += len(sizes)
        if died.any():
            ids = self.slots[died]
            for slot, v in zip(died.nonzero().flatten().tolist(), ids.tolist(), strict=True):
                self.diverged[v], self.frozen[v] = epoch, self.layout.gather(self.flat, slot)
            nan = torch.full((len(ids),), math.nan, dtype=torch.float64)
            order = ids.argsort()
            self.rows.add_epoch(ids[order], epoch, train_loss[ids[order]], nan, nan, diverged=True)
            self._compact(live & ~died)
        self.epoch = epoch
        if self.live.numel():
            self._record_eval(epoch, train_loss[self.live], histograms=False)

    def _compact(self, keep) -> None:
        """Drop the slots not in ``keep`` (S,): lay the rest out in even seed groups again."""
        old = {int(v): p for p, v in enumerate(self.slots.tolist()) if keep[p]}
        seeds = {v: self.spec.variants[v].seed for v in old}
        slots, group_seeds = seed_groups(seeds, max_groups=len(self.group_seeds))
        rows = [old.get(v, 0) for v in slots]  # padding rows are zeroed below
        layout = params.Layout(self.mlp.sizes, len(slots))
        pad = torch.tensor([i < 0 for i in slots], dtype=torch.bool, device=self.device)

        def zero(flat):
            for block in layout.blocks_of(flat):
                block.masked_fill_(pad.unsqueeze(1), 0)
            return flat

        flat = zero(self.layout.select(self.flat, rows))
        bufs = None if self.sgd.bufs is None else zero(self.layout.select(self.sgd.bufs, rows))
        self._lay_out(slots, group_seeds, flat, bufs)

    # ---- evaluation and rows ----
    def _live_params(self):
        """The stacked weights and biases of the live slots (views when no slot is padding)."""
        if bool((self.slots >= 0).all()):
            return self.weights, self.biases
        idx = (self.slots >= 0).nonzero().flatten().to(self.device)
        return [w[idx] for w in self.weights], [b[idx] for b in self.biases]

    def evaluate(self, split: str):
        """Mean loss and accuracy per live variant on a split (``evaluation.evaluate``)."""
        weights, biases = self._live_params() if self.live.numel() else ([], [])
        chunk = self.plan.eval_chunk(max(1, self.live.numel()), self.spec.eval_batch_size, self.width)
        return evaluate(
            weights, biases, self.data[f"x_{split}"], self.data[f"y_{split}"], activation=self.spec.activation,
            output_activation=self.spec.output_activation, loss=self.spec.loss, chunk=chunk, mm=self.mm,
        )  # fmt: skip

    def _record_eval(self, epoch: int, train_loss, histograms: bool) -> None:
        val_loss, val_acc = self.evaluate("val")
        self.rows.add_epoch(self.live, epoch, train_loss, val_loss, val_acc, diverged=False)
        weights, biases = self._live_params()
        layers, hist = layerstats.probe(
            weights, biases, self.probe_x, self.probe_y, activation=self.spec.activation,
            output_activation=self.spec.output_activation, loss=self.spec.loss,
            variant_ids=self.live, histograms=histograms, elements=self.plan.probe_elements,
        )  # fmt: skip
        for table, cols in (("layers", layers), ("histograms", hist)):
            if cols is not None:
                cols["epoch"] = torch.full((len(cols["layer"]),), epoch)
                self.rows.add(table, cols)

    def finish(self) -> PackResult:
        """Test metrics, hidden activations, final parameters and meta; the tables of the run."""
        test_loss, test_acc = self.evaluate("test")
        live = self.live.tolist()
        if self.spec.record_hidden and live:
            weights, biases = self._live_params()
            self.rows.add("hidden", layerstats.hidden_rows(
                weights[0], biases[0], self.data["x_train"], self.data["y_train"],
                self.spec.activation, self.live,
            ))  # fmt: skip
        slot_of = {v: p for p, v in enumerate(self.slots.tolist()) if v >= 0}
        params_of = {v: self.layout.gather(self.flat, slot_of[v]) for v in live} | self.frozen
        test = {v: (float(test_loss[s]), float(test_acc[s])) for s, v in enumerate(live)}
        k, seconds = len(self.spec.variants), self.seconds
        meta = machine_meta(self.device) | self.mm.meta() | {
            "seconds": seconds, "setup_seconds": self.setup_seconds, "k": k, "slots": len(self.slots),
            "steps": self.step, "epochs_run": self.epoch, "iterations_per_s": self.step / seconds,
            "model_iterations_per_s": sum(len(c["loss"]) for c in self.rows.chunks["iterations"]) / seconds,
            "dtype": str(self.flat.dtype), "sizes": self.mlp.sizes, "memory_mb": self.memory_mb,
            "estimate_mb": self.plan.bytes / 2**20, "cuda_graphs": cudagraphs.enabled(self.device),
        }  # fmt: skip
        return build_result(
            self.spec.to_dict(), self.rows, test=test, diverged=self.diverged, meta=meta,
            params=[params_of[i] for i in range(k)], epochs_run=self.epochs,
        )  # fmt: skip

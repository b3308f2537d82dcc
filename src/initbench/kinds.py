"""The dataset kinds: one ``DatasetKind`` record each, in one place, torch-free.

A record says everything the benchmark needs to know about a kind of dataset: where its data comes
from (downloaded files, a generator, or the user's own ``.npz`` file), its shape (inputs, output
units, samples on the device, test-set size), the function of ``datasets/readers.py`` that reads
it, and the provenance text its manifest carries. Everything else derives from the records:
``names.DATASET_KINDS``, the lists of ``datasets/options.py``, ``sources.SPECS``, the
generators' provenance in ``fetching``, the readers' dispatch, ``packsize.SHAPES`` and
``TEST_SETS``; the config schema's ``kind`` enum cannot import Python, so a test checks that it
lists exactly these records.

Adding a kind: one record here, its ``read_<reader>`` function in ``datasets/readers.py``, its test.

The shape of a ``tensors`` dataset is its file's: ``SHAPES["tensors:<path>"]`` reads the file with
numpy (``datasets/tensorfile.py``) the first time it is asked for, so the DAG learns the pack
memory estimate's inputs, classes and samples without torch.
"""

from __future__ import annotations

from dataclasses import dataclass

DOWNLOAD, GENERATED, FILE = "download", "generated", "file"
TEST_SHARE = 0.2  # test share of a generated kind's samples when n_test is not given (mnist1d's own)


@dataclass(frozen=True)
class DatasetKind:
    """One kind of dataset. ``None`` where the value is the user's file's (the ``file`` origin)."""

    name: str
    origin: str  # DOWNLOAD (torchvision's files, fetched), GENERATED (made locally), FILE (the user's .npz)
    inputs: int | None  # features of one flattened sample
    classes: int | None  # output units of the MLP (toy1d: one unit, for the lab's BCE)
    samples: int | None  # samples on the device by default: train + test
    test: int | None  # of which the test set; None: TEST_SHARE of the samples
    input_shape: tuple[int, ...] | None  # one sample before flattening, channels first
    reader: str  # datasets/readers.py's read_<reader>(name, opts, root) -> Raw
    provenance: str  # where the data comes from, as the manifest and docs say it
    sized: bool = False  # the options n_samples and n_test apply (generated kinds of any size)
    torchvision: str = ""  # DOWNLOAD: the torchvision.datasets class that downloads and reads it
    folder: str = ""  # DOWNLOAD: its folder under the data root, in torchvision's layout


def _mnist_family(name: str, cls: str, what: str) -> DatasetKind:
    return DatasetKind(
        name, DOWNLOAD, 784, 10, 70_000, 10_000, (1, 28, 28), "torchvision",
        f"{what}: torchvision.datasets.{cls}, md5-checked", torchvision=cls, folder=f"{cls}/raw",
    )  # fmt: skip


KINDS: dict[str, DatasetKind] = {
    k.name: k
    for k in (
        _mnist_family("mnist", "MNIST", "MNIST (LeCun et al. 1998)"),
        _mnist_family("fashion_mnist", "FashionMNIST", "Fashion-MNIST (Xiao et al. 2017)"),
        _mnist_family("kmnist", "KMNIST", "Kuzushiji-MNIST (Clanuwat et al. 2018)"),
        DatasetKind(
            "cifar10",
            DOWNLOAD,
            3072,
            10,
            60_000,
            10_000,
            (3, 32, 32),
            "torchvision",
            "CIFAR-10 (Krizhevsky 2009): torchvision.datasets.CIFAR10, md5-checked",
            torchvision="CIFAR10",
            folder="cifar-10-batches-py",
        ),
        # 70000 gives 56k training samples, so the labs' batch of 2000 gives ~30 steps an epoch as on MNIST
        DatasetKind(
            "mnist1d",
            GENERATED,
            40,
            10,
            70_000,
            None,
            (40,),
            "mnist1d",
            "mnist1d.data.make_dataset (PyPI mnist1d; Greydanus 2020)",
            sized=True,
        ),
        DatasetKind(
            "toy1d",
            GENERATED,
            1,
            1,
            40,
            40,
            (1,),
            "toy1d",
            "the course lab's 40 points: x = -20..19, y = 1 where -4 < x < 4",
        ),
        # 10k training + 2.5k test images
        DatasetKind(
            "shapeset",
            GENERATED,
            1024,
            9,
            12_500,
            None,
            (1, 32, 32),
            "shapeset",
            "initbench.datasets.shapeset (Shapeset-3x2 after Glorot & Bengio 2010)",
            sized=True,
        ),
        DatasetKind(
            "tensors",
            FILE,
            None,
            None,
            None,
            None,
            None,
            "tensors",
            "the user's .npz file (x_train, y_train, x_test, y_test[, x_val, y_val]), sha256-recorded",
        ),
    )  # fmt: skip
}


def names() -> tuple[str, ...]:
    return tuple(KINDS)


def of_origin(origin: str) -> tuple[str, ...]:
    return tuple(k for k, rec in KINDS.items() if rec.origin == origin)


def data_key(name: str, options: dict) -> str:
    """The key of ``SHAPES`` for dataset ``name``: its kind, or ``tensors:<source>`` for a file kind."""
    kind = options.get("kind") or name
    return f"{kind}:{options.get('source')}" if kind in KINDS and KINDS[kind].origin == FILE else kind


def file_info(name: str, options: dict):
    """``tensorfile.Info`` of a file kind's dataset (read once per file and process), checked."""
    from initbench.datasets import tensorfile

    if not options.get("source"):
        raise ValueError(
            f"dataset {name!r}: a {options.get('kind')} dataset needs source: the path of its .npz file"
        )
    return tensorfile.inspect(name, options["source"])


def check(name: str, options: dict) -> None:
    """The checks a kind makes when the DAG is built: a file kind's file is read and checked now,
    so a broken file stops the run before any job (raises ValueError naming the dataset)."""
    kind = options.get("kind") or name
    if KINDS[kind].origin != FILE:
        return
    info = file_info(name, options)
    if info.sizes["val"] and options.get("validation", "test") != "test":
        raise ValueError(
            f"dataset {name!r}: {options['source']} holds its own validation split (x_val, y_val); "
            "drop the validation option"
        )


class _Shapes(dict):
    """kind -> (inputs, outputs, samples); a ``tensors:<path>`` key reads that file's shape."""

    def __missing__(self, key: str) -> tuple[int, int, int]:
        info = self._file(key)
        self[key] = (info.inputs, info.classes, info.samples)
        return self[key]

    def get(self, key: str, default=None):  # dict.get skips __missing__
        try:
            return self[key]
        except KeyError:
            return default

    @staticmethod
    def _file(key: str):
        kind, _, path = key.partition(":")
        if kind not in KINDS or KINDS[kind].origin != FILE or not path:
            raise KeyError(key)
        return file_info(kind, {"kind": kind, "source": path})


class _TestSets(_Shapes):
    """kind -> held-out samples (test, and a file's own validation split)."""

    def __missing__(self, key: str) -> int:
        info = self._file(key)
        self[key] = info.sizes["val"] + info.sizes["test"]
        return self[key]


SHAPES = _Shapes({k: (r.inputs, r.classes, r.samples) for k, r in KINDS.items() if r.origin != FILE})
TEST_SETS = _TestSets({k: r.test for k, r in KINDS.items() if r.test is not None})

"""A pack run's resumable checkpoint, written atomically (``initbench.atomic``, re-exported here).

A checkpoint records the hash of the pack spec and of the data it was made for; resuming from a
checkpoint of another spec raises a ``CheckpointMismatch`` naming the file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from initbench.atomic import atomic_write  # result files import it from here too

FORMAT_VERSION = 2  # 2: slots and one flat parameter buffer (issue 10)


class CheckpointMismatch(ValueError):
    """A checkpoint exists but was written for another pack spec or other data."""


def data_fingerprint(data) -> dict:
    """Shape, dtype and sha256 of the bytes of each data tensor (~0.1 s for MNIST, no copy)."""
    out = {}
    for key, t in sorted(data.items()):
        raw = t.detach().cpu().contiguous().numpy().reshape(-1).view(np.uint8)
        out[key] = [list(t.shape), str(t.dtype), hashlib.sha256(raw).hexdigest()]
    return out


def spec_hash(spec_dict: dict, data) -> str:
    """sha256 of the spec (as sorted JSON) and the data's fingerprint."""
    blob = json.dumps({"spec": spec_dict, "data": data_fingerprint(data)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def save(path: str | Path, state: dict, digest: str) -> None:
    """Write ``state`` (tensors, lists, dicts, numbers, strings) with its spec hash, atomically."""
    payload = {"format": FORMAT_VERSION, "spec_hash": digest, "state": state}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load(path: str | Path, digest: str, device) -> dict | None:
    """The saved state if ``path`` exists, else None; CheckpointMismatch if it belongs elsewhere."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # a foreign or damaged file: say which one
        raise CheckpointMismatch(f"cannot read checkpoint {path}: {err}; delete it to start over") from err
    if payload.get("format") != FORMAT_VERSION or payload.get("spec_hash") != digest:
        raise CheckpointMismatch(
            f"checkpoint {path} was written for a different pack spec or data "
            f"(hash {str(payload.get('spec_hash'))[:12]}, expected {digest[:12]}); "
            "delete it to start over"
        )
    return payload["state"]

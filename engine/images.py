"""Images → 512-d vectors with a torchvision ResNet-18 up to its pooling layer ([image] extra).

The classic recipe: each image read with Pillow as RGB, resized so its shorter side is 256,
centre-cropped to 224 × 224, scaled to [0, 1] and normalised with ImageNet's channel means
(0.485, 0.456, 0.406) and deviations (0.229, 0.224, 0.225); the network's output after global
average pooling (its classifier removed) is the vector, in float32, batches of BATCH images.

Weights, never downloaded here:
- default: torchvision's own ImageNet weights (`ResNet18_Weights.IMAGENET1K_V1`) when torch's
  hub cache already holds them (`torch.hub.get_dir()/checkpoints/resnet18-f37072fd.pth`);
  otherwise the build stops with one line saying where to put the file or to pass
  `--image-weights FILE`;
- `--image-weights FILE`: a ResNet-18 state dict (`torch.save(model.state_dict(), FILE)`),
  loaded with `weights_only=True`;
- `--image-weights random`: seeded random initialisation, for tests only (the vectors mean
  nothing).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable

import numpy as np

from engine.errors import InputError

DIM = 512
BATCH = 32
CHECKPOINT = "resnet18-f37072fd.pth"  # torchvision's IMAGENET1K_V1 file name
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
_MISSING = "image embeddings need the [image] extra: pip install 'embtui[image]'"

ProgressFn = Callable[[float, float], None] | None


def require_image() -> None:
    """Raise InputError unless torch, torchvision and Pillow are installed (imports none)."""
    for name in ("torch", "torchvision", "PIL"):
        if importlib.util.find_spec(name) is None:
            raise InputError(_MISSING)


def cached_checkpoint() -> str:
    """Where torchvision keeps the ImageNet weights once fetched (not read here)."""
    import torch
    return os.path.join(torch.hub.get_dir(), "checkpoints", CHECKPOINT)


def weights_file(weights: str | None) -> str:
    """The weights file to load (not "random"), refused in one line when it is not there."""
    path = cached_checkpoint() if weights is None else weights
    if not os.path.isfile(path):
        if weights is None:
            raise InputError(f"no ResNet-18 weights on this machine: put torchvision's "
                             f"{CHECKPOINT} in {os.path.dirname(path)} or give "
                             "--image-weights FILE (a ResNet-18 state dict)")
        raise InputError(f"{weights}: no such file (--image-weights)")
    return path


def weights_key(weights: str | None) -> str:
    """What the vectors depend on, for the ingest step's key: the weights' source and, for a
    file, its content hash."""
    if weights == "random":
        return "resnet18 random init (seed 0), tests only"
    path = weights_file(weights)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"resnet18 {digest.hexdigest()[:16]}"


def _model(weights: str | None):
    import torch
    from torchvision.models import resnet18
    if weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = resnet18(weights=None)
    else:
        path = weights_file(weights)
        model = resnet18(weights=None)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as err:  # a wrong or damaged file: one line, never a traceback
            raise InputError(f"{path}: not ResNet-18 weights "
                             f"({str(err).splitlines()[0][:120]})") from None
    model.fc = torch.nn.Identity()  # the 512 pooled features, not the 1000 classes
    return model.eval()


def _transform():
    from torchvision import transforms
    return transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                               transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


def load_image(path: str, where: str):
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except FileNotFoundError:
        raise InputError(f"{where}: no such image file '{path}'") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InputError(f"{where}: cannot read the image '{path}' "
                         f"({str(err).splitlines()[0][:120]})") from None


def embed_images(paths: list[str], ids: list[str], *, weights: str | None = None,
                 progress: ProgressFn = None) -> np.ndarray:
    """(N, 512) float32 vectors of the images at `paths` (named by `ids` in errors)."""
    require_image()
    import torch
    n = len(paths)
    out = np.empty((n, DIM), np.float32)
    if n == 0:
        return out
    model, prep = _model(weights), _transform()
    with torch.inference_mode():
        for start in range(0, n, BATCH):
            batch = torch.stack([prep(load_image(paths[i], f"image of id '{ids[i]}'"))
                                 for i in range(start, min(start + BATCH, n))])
            out[start:start + len(batch)] = model(batch).numpy()
            if progress is not None:
                progress(min(start + BATCH, n), n)
    return out

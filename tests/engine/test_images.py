"""Images → ResNet-18 vectors, offline: images the test draws, random weights (tests only)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from engine.errors import InputError

pytestmark = [pytest.mark.skipif(importlib.util.find_spec("torchvision") is None,
                                 reason="the [image] extra is not installed"),
              pytest.mark.slow]


def draw(path, colour, size=(40, 30), stripe=None):
    from PIL import Image
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[:] = colour
    if stripe is not None:
        a[:, ::4] = stripe
    Image.fromarray(a).save(path)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """Six images in two looks (red with white stripes, blue plain), sizes varied, listed in
    a CSV by relative path."""
    d = tmp_path_factory.mktemp("pictures")
    (d / "img").mkdir()
    rows = ["id,path,kind"]
    for i in range(6):
        red = i % 2 == 0
        name = f"img/p{i}.{'png' if red else 'jpg'}"
        draw(d / name, (200, 20, 20) if red else (20, 40, 200),
             size=(40 + 7 * i, 30 + 5 * i), stripe=(255, 255, 255) if red else None)
        rows.append(f"{i},{name},{'red' if red else 'blue'}")
    (d / "pictures.csv").write_text("\n".join(rows) + "\n")
    return d / "pictures.csv"


def test_embeds_512_dimensions_like_looks_together(pictures):
    from engine.ingest import read_images
    got = read_images(str(pictures), image_col="path", id_col="id", weights="random")
    X = got.vectors
    assert X.shape == (6, 512) and X.dtype == np.float32 and np.isfinite(X).all()
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Xn @ Xn.T
    same = np.array([[a % 2 == b % 2 for b in range(6)] for a in range(6)])
    off = ~np.eye(6, dtype=bool)
    assert S[same & off].min() > S[~same].max()  # even random filters tell the looks apart
    again = read_images(str(pictures), image_col="path", id_col="id", weights="random")
    np.testing.assert_array_equal(X, again.vectors)  # seeded
    assert got.entities.column("label").to_pylist()[0] == "img/p0.png"


def test_a_weights_file_is_a_state_dict(pictures, tmp_path):
    import torch
    from torchvision.models import resnet18

    from engine.images import embed_images, weights_key
    torch.manual_seed(5)
    path = tmp_path / "w.pth"
    torch.save(resnet18(weights=None).state_dict(), path)
    assert weights_key(str(path)).startswith("resnet18 ")
    img = str(pictures.parent / "img" / "p0.png")
    a = embed_images([img], ["0"], weights=str(path))
    b = embed_images([img], ["0"], weights="random")
    assert a.shape == (1, 512) and not np.allclose(a, b)
    (tmp_path / "bad.pth").write_bytes(b"not weights")
    with pytest.raises(InputError, match="not ResNet-18 weights"):
        embed_images([img], ["0"], weights=str(tmp_path / "bad.pth"))


def test_without_weights_the_build_says_where_to_put_them(monkeypatch, tmp_path):
    import torch

    from engine.images import weights_key
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(InputError, match="no ResNet-18 weights on this machine: put "
                                         "torchvision's resnet18-f37072fd.pth in"):
        weights_key(None)
    with pytest.raises(InputError, match="no such file"):
        weights_key(str(tmp_path / "none.pth"))


def test_bad_images_are_one_line(tmp_path):
    from engine.ingest import read_images
    (tmp_path / "broken.png").write_text("not a png")
    (tmp_path / "a.csv").write_text("id,path\n1,broken.png\n")
    with pytest.raises(InputError, match="image of id '1': cannot read the image"):
        read_images(str(tmp_path / "a.csv"), image_col="path", weights="random")
    (tmp_path / "b.csv").write_text("id,path\n1,missing.png\n")
    with pytest.raises(InputError, match="image of id '1': no such image file"):
        read_images(str(tmp_path / "b.csv"), image_col="path", weights="random")
    (tmp_path / "c.csv").write_text("id,path\n1,\n")
    with pytest.raises(InputError, match="the row of id '1' has no image path"):
        read_images(str(tmp_path / "c.csv"), image_col="path", weights="random")


def test_the_build_command(pictures, tmp_path):
    import subprocess
    import sys
    out = tmp_path / "pictures.duckdb"
    exe = [sys.executable, "-m", "tui.cli"]
    res = subprocess.run([*exe, "build", pictures, "--image-column", "path", "--id", "id",
                          "--image-weights", "random", "-k", "2", "-o", out, "--quiet"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    info = json.loads(subprocess.run([*exe, "info", out, "--json"], capture_output=True,
                                     text=True).stdout)
    assert info["dim"] == 512
    assert info["steps"]["ingest"]["params"]["image"] == "path"
    assert "random" in info["steps"]["ingest"]["params"]["model"]
    nb = json.loads(subprocess.run([*exe, "neighbors", out, "0", "--json"],
                                   capture_output=True, text=True).stdout)
    assert {n["id"] for n in nb["neighbors"]} == {"2", "4"}  # the other red ones
    for args, needle in ((("--image-weights", "random"), "applies to --image-column only"),
                         (("--image-column", "path", "--collections"), "does not go with"),
                         (("--image-column", "path", "--text-column", "id"), "give one of")):
        res = subprocess.run([*exe, "build", pictures, "-o", tmp_path / "x.duckdb", *args],
                             capture_output=True, text=True)
        assert res.returncode == 2 and needle in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1

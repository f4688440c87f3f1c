"""The ImageNet-layout folder reader, on a tiny folder of images written here with Pillow."""

import math
import sys

import numpy as np
import pytest
import torch

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from numnet import data  # noqa: E402
from numnet.cli import main  # noqa: E402
from numnet.data import DataFormatError, DataNotFoundError  # noqa: E402
from numnet.data.imagefolder import (IMAGENET_MEAN, IMAGENET_STD, FolderLoader, ImageFolder,  # noqa: E402
                                     load_image_folder, random_resized_box)
from numnet.errors import UserError  # noqa: E402
from numnet.train import TrainResult  # noqa: E402

RED, BLUE = (255, 0, 0), (0, 0, 255)


def halves(width, height):
    """Red left half, blue right half."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = RED
    pixels[:, width // 2:] = BLUE
    return Image.fromarray(pixels)


@pytest.fixture
def folder(tmp_path):
    """2 classes x 3 training images (PNG and JPEG, several sizes), 2 x 1 validation images."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("val", 1)):
        for label, name in enumerate(("n02_dog", "n01_cat")):   # listed unsorted on purpose
            d = tmp_path / split / name
            d.mkdir(parents=True)
            for i in range(count):
                w, h = 40 + 13 * i, 30 + 7 * label
                image = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
                image.save(d / f"img{i}.{'png' if i % 2 else 'JPEG'}")
    (tmp_path / "train" / "n01_cat" / "notes.txt").write_text("not an image")
    return tmp_path


def test_classes_are_the_sorted_folder_names(folder):
    splits = data.load("imagenet", root=folder, num_workers=0)
    assert splits.classes == ("n01_cat", "n02_dog") and splits.num_classes == 2
    assert len(splits.train) == 6 and len(splits.test) == 2 and splits.val is None
    assert splits.train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert splits.train.files[0] == "n01_cat/img0.JPEG" and splits.train.files[4] == "n02_dog/img1.png"
    assert splits.describe() == {"name": "imagenet", "train": 6, "val": 0, "test": 2, "shape": [3, 224, 224],
                                 "num_classes": 2}
    short = splits.limit_train(2)
    assert short.train.files.tolist() == splits.train.files[:2].tolist() and short.train.labels.tolist() == [0, 0]
    assert len(short.test) == 2


def test_eval_transform_resizes_the_short_side_and_crops_the_centre(tmp_path):
    (tmp_path / "a").mkdir()
    halves(512, 256).save(tmp_path / "a" / "x.png")   # short side already 256: only the centre crop acts
    halves(600, 300).save(tmp_path / "a" / "y.png")   # 600x300 -> 512x256, then the same crop
    images = ImageFolder.scan(tmp_path)
    for i in range(2):
        image, label = images[i]
        assert image.shape == (3, 224, 224) and image.dtype == torch.uint8 and label == 0
        # crop columns 144..367 of 512: 112 red (x < 256), then 112 blue
        assert (image[:, :, :111] == torch.tensor(RED)[:, None, None]).all()
        assert (image[:, :, 113:] == torch.tensor(BLUE)[:, None, None]).all()


def test_train_transform_is_a_pure_function_of_seed_epoch_index(tmp_path):
    (tmp_path / "a").mkdir()
    halves(64, 48).save(tmp_path / "a" / "x.png")
    base = ImageFolder.scan(tmp_path, crop=32)
    train = base.__class__(**{**base.__dict__, "train": True, "seed": 3})
    noflip = train.__class__(**{**train.__dict__, "flip": False})
    seen_flip = False
    for epoch in range(8):
        a, b = train.at_epoch(epoch)[0][0], train.at_epoch(epoch)[0][0]
        assert torch.equal(a, b)                     # replayed exactly
        c = noflip.at_epoch(epoch)[0][0]
        flipped = torch.equal(a, c.flip(-1)) and not torch.equal(a, c)
        assert torch.equal(a, c) or flipped          # the same crop, mirrored or not
        seen_flip |= flipped
        # never flipped: red stays on the left of the crop wherever the window lies
        assert c[0, :, 0].float().mean() >= c[0, :, -1].float().mean()
    assert seen_flip


def test_random_resized_box_stays_in_range():
    rng = np.random.default_rng(1)
    for width, height in ((500, 375), (375, 500), (224, 224)):
        for _ in range(300):
            left, top, w, h = random_resized_box(width, height, rng)
            assert 0 <= left <= width - w and 0 <= top <= height - h
            assert 0.08 * width * height * 0.9 <= w * h <= width * height
            assert math.log(3 / 4) - 0.05 <= math.log(w / h) <= math.log(4 / 3) + 0.05


def test_ranks_share_the_same_global_batches(folder):
    splits = data.load("imagenet", root=folder, num_workers=0, crop=32, resize=40)
    train = splits.train.__class__(**{**splits.train.__dict__, "train": True})
    whole = list(FolderLoader(train, 4, shuffle=True, seed=5, num_workers=2).epoch(1))
    parts = [list(FolderLoader(train, 4, shuffle=True, seed=5, rank=r, world_size=2).epoch(1)) for r in (0, 1)]
    assert [b.total for b in whole] == [4, 2] and len(parts[0]) == len(parts[1]) == 2
    for i, batch in enumerate(whole):
        assert torch.equal(torch.cat([parts[0][i].images, parts[1][i].images]), batch.images)
        assert torch.equal(torch.cat([parts[0][i].labels, parts[1][i].labels]), batch.labels)
    assert sorted(torch.cat([b.labels for b in whole]).tolist()) == [0, 0, 0, 1, 1, 1]
    # normalised on the device with ImageNet's channel statistics
    raw = train.at_epoch(1)[0][0].float() / 255
    order = data.loader.epoch_order(6, 5, 1)
    first = whole[0].images[order.tolist().index(0)]
    expected = (raw - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
    assert torch.allclose(first, expected, atol=1e-6)


def test_a_corrupt_image_is_named_in_one_line(folder):
    (folder / "val" / "n01_cat" / "img0.JPEG").write_bytes(b"\xff\xd8 not really a jpeg")
    splits = data.load("imagenet", root=folder, num_workers=1)
    with pytest.raises(DataFormatError) as e:
        list(FolderLoader(splits.test, 2, num_workers=1).epoch(0))
    message = str(e.value)
    assert message.startswith(f"{folder / 'val' / 'n01_cat' / 'img0.JPEG'}: not a readable image") and "\n" not in message


def test_layout_errors(folder, tmp_path):
    with pytest.raises(DataNotFoundError, match="no such folder"):
        load_image_folder(tmp_path / "nowhere")
    (folder / "val" / "n03_bird").mkdir()
    with pytest.raises(DataFormatError, match=r"n03_bird: a class folder without images"):
        load_image_folder(folder)
    (folder / "val" / "n03_bird" / "x.png").write_bytes((folder / "train" / "n01_cat" / "img1.png").read_bytes())
    with pytest.raises(DataFormatError, match=r"its class folders differ .* n03_bird"):
        load_image_folder(folder)
    with pytest.raises(ValueError, match="takes no val_split=0.5"):
        data.load("imagenet", root=folder, val_split=0.5)
    with pytest.raises(ValueError, match="pass root="):
        data.load("imagenet")


def test_pillow_missing_says_how_to_install_it(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(UserError, match=r"pip install pillow \(or pip install numnet\[imagenet\]\)"):
        data.load("imagenet", root=folder)


def test_numnet_train_on_a_tiny_image_folder(folder, capsys):
    out = folder / "run"
    assert main(["train", "--data", "imagenet", "--data-dir", str(folder), "--net", "resnet", "--depth", "8",
                 "--epochs", "1", "--batch-size", "3", "--workers", "0", "--device", "cpu", "--no-progress",
                 "--out", str(out)]) == 0
    result = TrainResult.load(out / "result.json")
    assert result.finished and result.epochs_done == 1 and result.history[0]["images"] == 6
    assert result.config["recipe"]["name"] == "torchvision-imagenet" and result.config["data"]["test"] == 2
    assert 0 <= result.final_test_acc <= 1
    capsys.readouterr()
    assert main(["train", "--data", "imagenet", "--data-dir", str(folder), "--recipe", "quick", "--epochs", "1",
                 "--device", "cpu", "--out", str(folder / "r2")]) == 2
    assert "recipe 'quick' pads and crops (pad=4)" in capsys.readouterr().err

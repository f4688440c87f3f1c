"""train() on a user's own data: float tensors, a TensorDataset, a DataLoader, a Dataset."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from numnet.data import Loader, user_data
from numnet.errors import ConfigError, ConfigTypeError
from numnet.train import Recipe, evaluate, train

RECIPE = Recipe("tiny", epochs=3, batch_size=32, milestones=(2,), pad=0, flip=False)


def blobs(n, seed):
    """Two Gaussian blobs in 2x4x4 float images, far apart: a linear net learns them."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, 4, 4, generator=g) * 0.5 + (2.0 * y - 1).reshape(-1, 1, 1, 1)
    return x, y


def linear_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 2))


def test_float_tensors_train_fed_as_given():
    (x, y), (xt, yt) = blobs(96, 0), blobs(64, 1)
    net = linear_net()
    result = train(net, {"train": (x, y), "test": (xt, yt)}, RECIPE, device="cpu", progress=False)
    assert result.finished and result.final_test_acc == 1.0
    assert result.config["recipe"]["name"] == "tiny" and result.config["data"]["num_classes"] == 2
    # the recorded accuracy is the net's on the tensors exactly as given: no normalisation
    with torch.no_grad():
        assert (net(xt).argmax(1) == yt).float().mean().item() == result.final_test_acc
    data = user_data(train=(x, y), test=(xt, yt))
    batch = next(Loader(data.test, 64).epoch(0))
    assert torch.equal(batch.images, xt) and torch.equal(batch.labels, yt)


def test_tensor_dataset_dataloader_and_dataset_give_the_same_run():
    (x, y), (xt, yt) = blobs(96, 0), blobs(64, 1)

    class Pairs(Dataset):
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            return x[i], int(y[i])

    runs = []
    for train_split in ((x, y), TensorDataset(x, y), DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True),
                        Pairs()):
        net = linear_net()
        r = train(net, {"train": train_split, "test": TensorDataset(xt, yt)}, RECIPE, device="cpu", progress=False)
        runs.append((r.history[-1]["train_loss"], net[1].weight.detach().clone()))
    for loss, w in runs[1:]:
        assert loss == runs[0][0] and torch.equal(w, runs[0][1])


def test_default_recipe_for_user_data_does_not_augment():
    (x, y), (xt, yt) = blobs(64, 0), blobs(32, 1)
    data = user_data(train=(x, y), test=(xt, yt), val=blobs(32, 2))
    assert data.recipe_default == "he2016-no-augmentation"
    result = train(linear_net(), data, device="cpu", progress=False, stop_after=1)
    assert (result.config["recipe"]["name"], result.config["recipe"]["pad"], result.config["recipe"]["flip"]) == \
        ("he2016-no-augmentation", 0, False)
    assert result.history[0]["val_acc"] is not None


@pytest.mark.parametrize("make, error, message", [
    (lambda x, y: {"train": (x.to(torch.uint8), y), "test": (x, y)}, ConfigTypeError, "must be a floating tensor"),
    (lambda x, y: {"train": (x, y.float()), "test": (x, y)}, ConfigTypeError, "integer tensor of class indices"),
    (lambda x, y: {"train": (x, y[:-1]), "test": (x, y)}, ConfigError, "64 samples in x but 63 labels"),
    (lambda x, y: {"train": (x[:0], y[:0]), "test": (x, y)}, ConfigError, "user_data train is empty"),
    (lambda x, y: {"train": (x, y), "test": (x[:, :1], y)}, ConfigError, "must share one sample shape"),
    (lambda x, y: {"train": (x, y), "test": (x, y + 2)}, ConfigError, r"labels must lie in \[0, 2\)"),
    (lambda x, y: {"train": (x, y), "test": (x, y), "num_classes": 1}, ConfigError, r"labels must lie in \[0, 1\)"),
    (lambda x, y: {"train": (x.index_fill(0, torch.tensor([3]), float("nan")), y), "test": (x, y)}, ConfigError,
     "non-finite"),
    (lambda x, y: {"train": [1, 2], "test": (x, y)}, ConfigTypeError, "must be \\(x, y\\) tensors"),
    (lambda x, y: {"train": (x, y)}, ConfigError, "needs 'train' and 'test'"),
])
def test_bad_user_data_is_refused_with_its_reason(make, error, message):
    x, y = blobs(64, 0)
    with pytest.raises(error, match=message):
        train(linear_net(), make(x, y), RECIPE, device="cpu", progress=False)


def test_model_width_and_augmentation_of_non_images_are_checked():
    x, y = blobs(64, 0)
    with pytest.raises(ConfigError, match="gives 2 outputs per image but user_data has 3 classes"):
        train(linear_net(), {"train": (x, y), "test": (x, y), "num_classes": 3}, RECIPE, progress=False)
    flat = {"train": (x.flatten(1), y), "test": (x.flatten(1), y)}
    net = torch.nn.Linear(32, 2)
    with pytest.raises(ConfigError, match="pad-crop and flip augment images"):
        train(net, flat, RECIPE.replace(pad=4), device="cpu", progress=False)
    assert train(net, flat, RECIPE, device="cpu", progress=False).final_test_acc == 1.0


def test_a_run_directory_tells_other_data_of_the_same_sizes(tmp_path):
    (x, y), (xt, yt) = blobs(64, 0), blobs(32, 1)
    train(linear_net(), {"train": (x, y), "test": (xt, yt)}, RECIPE, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="different data"):
        train(linear_net(), {"train": (x + 1, y), "test": (xt, yt)}, RECIPE, out=tmp_path, progress=False)


def test_evaluate_takes_a_user_loader():
    x, y = blobs(40, 0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 2))
    torch.nn.init.zeros_(net[1].weight), torch.nn.init.zeros_(net[1].bias)
    loss, acc = evaluate(net, Loader(user_data(train=(x, y), test=(x, y)).test, 16))
    assert loss == pytest.approx(math.log(2), rel=1e-6) and acc == 0.5   # uniform logits, first class wins

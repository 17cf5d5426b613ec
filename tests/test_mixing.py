"""Mixing datasets in training (data.mix) and the transfer augmentations."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from segsim.errors import SegsimError
from segsim.train.config import AugmentConfig, load_train_config
from segsim.train.mixing import MixedStore
from train_fixtures import make_dataset


class _Store:
    def __init__(self, name, n):
        self.name, self.n = name, n

    def __len__(self):
        return self.n

    def get(self, i):
        assert 0 <= i < self.n
        return self.name, i


def test_slots_follow_the_weights():
    m = MixedStore([_Store("a", 10), _Store("b", 100), _Store("c", 3)], [2.0, 1.0, 1.0])
    assert m.slots == [10, 5, 5]  # data.root once per epoch; the others by weight
    got = [m.get(s) for s in range(len(m))]
    assert [g for g in got if g[0] == "a"] == [("a", i) for i in range(10)]
    b = [i for name, i in got if name == "b"]
    assert b == [0, 20, 40, 60, 80]  # fewer slots than frames: spread evenly
    c = [i for name, i in got if name == "c"]
    assert c == [0, 1, 2, 0, 1]  # more slots than frames: repeated
    with pytest.raises(IndexError):
        m.get(len(m))


@pytest.mark.slow  # torch's first import and two small datasets: about 6 s on two cores
def test_make_loaders_mixes_datasets(tmp_path):
    from segsim.dataset.reader import open_dataset
    from segsim.train.data import make_loaders

    make_dataset(tmp_path / "a", counts=(6, 2, 2), size=24)
    make_dataset(tmp_path / "b", counts=(12, 2, 2), size=24)
    cfg = load_train_config(
        None,
        {
            "data": {"root": str(tmp_path / "a"), "num_workers": 0,
                     "mix": [{"root": str(tmp_path / "b"), "weight": 2.0}]},
            "input": {"size": 16},
            "trainer": {"batch_size": 4},
        },
    )  # fmt: skip
    index = open_dataset(cfg.data.root)
    train, val, store = make_loaders(cfg, index, progress=False)
    assert isinstance(store, MixedStore) and store.slots == [6, 12]
    assert len(val.dataset) == 2  # validation stays on data.root
    images = sum(b[0].shape[0] for b in train)
    assert images == 18


def test_mix_refuses_another_label_set(tmp_path):
    from segsim.dataset.reader import open_dataset
    from segsim.train.data import make_loaders

    make_dataset(tmp_path / "a", counts=(4, 2, 2), size=16)
    make_dataset(tmp_path / "b", counts=(4, 2, 2), size=16)
    meta = yaml.safe_load((tmp_path / "b" / "dataset.yaml").read_text())
    meta["labels"][2]["name"] = "ring"
    (tmp_path / "b" / "dataset.yaml").write_text(yaml.safe_dump(meta))
    cfg = load_train_config(
        None,
        {"data": {"root": str(tmp_path / "a"), "num_workers": 0,
                  "mix": [{"root": str(tmp_path / "b")}]}},
    )  # fmt: skip
    with pytest.raises(SegsimError, match="same label set"):
        make_loaders(cfg, open_dataset(cfg.data.root), progress=False)


def test_transfer_augmentations(tmp_path):
    from segsim.train.augment import apply, build_train_transform

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (32, 32, 3)).astype(np.uint8)
    img[..., 0] = 250
    mask = (rng.random((32, 32)) < 0.5).astype(np.uint8)
    base = dict(scale=(1.0, 1.0), ratio=(1.0, 1.0), hflip=0.0)
    grey = build_train_transform(AugmentConfig(**base, grayscale=1.0), (32, 32))
    out, m = apply(grey, img, mask, 1)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(m, mask)
    jp = build_train_transform(AugmentConfig(**base, jpeg=1.0, jpeg_quality=(10, 10)), (32, 32))
    out, m = apply(jp, img, mask, 1)
    assert np.abs(out.astype(int) - img).mean() > 5 and np.array_equal(m, mask)
    mb = build_train_transform(AugmentConfig(**base, motion_blur=1.0), (32, 32))
    out, m = apply(mb, img, mask, 1)
    assert out.std() < img.std() and np.array_equal(m, mask)
    # strong raises the probabilities, never lowers them; off by default
    strong = build_train_transform(AugmentConfig(strong=True, jpeg=0.9), (32, 32))
    names = {type(t).__name__: t.p for t in strong.transforms}
    assert names["ImageCompression"] == 0.9 and names["ToGray"] == 0.1
    plain = build_train_transform(AugmentConfig(), (32, 32))
    assert {"ToGray", "ImageCompression", "MotionBlur"}.isdisjoint(
        type(t).__name__ for t in plain.transforms
    )

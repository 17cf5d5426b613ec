"""segsim's copy of the Cityscapes label table equals cityscapesScripts' own."""

import pytest

from segsim.cityscapes import LABELS, label_to_train_id_lut, train_labelset, train_to_label_id_lut

cs = pytest.importorskip("cityscapesscripts.helpers.labels")


def test_table_matches_cityscapesscripts():
    theirs = [lab for lab in cs.labels if lab.id >= 0]  # license plate (-1) is never in a mask
    assert [lab.name for lab in LABELS] == [lab.name for lab in theirs]
    for ours, ref in zip(LABELS, theirs, strict=True):
        assert ours.id == ref.id, ref.name
        assert ours.train_id == ref.trainId, ref.name
        assert ours.category == ref.category, ref.name
        assert ours.has_instances == ref.hasInstances, ref.name
        assert ours.color == tuple(ref.color), ref.name


def test_luts_match_cityscapesscripts():
    to_train = label_to_train_id_lut()
    for ref in cs.labels:
        if ref.id >= 0:
            assert to_train[ref.id] == (255 if ref.trainId in (-1, 255) else ref.trainId)
    to_id = train_to_label_id_lut()
    for tid, ref in cs.trainId2label.items():
        if 0 <= tid < 19:
            assert to_id[tid] == ref.id
    assert train_labelset().names == [cs.trainId2label[i].name for i in range(19)]

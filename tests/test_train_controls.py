"""Training controls: model.freeze_encoder, model.freeze_bn and optim.encoder_lr_mult, checked on
a tiny model stepped by a real Lightning Trainer (which switches modes itself)."""

import lightning as L
import pytest
import torch
from torch import nn

from segsim.errors import SegsimError
from segsim.labels import LabelSet
from segsim.models.freeze import apply_freezing, parameter_groups
from segsim.train.config import load_train_config
from segsim.train.module import SegModule


class Tiny(nn.Module):
    """An encoder (conv + BN) and a head (conv + BN + classifier), like every segsim model."""

    def __init__(self, with_encoder: bool = True):
        super().__init__()
        body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        if with_encoder:
            self.encoder = body
        else:
            self.body = body
        self.head = nn.Sequential(
            nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 3, 1)
        )

    def forward(self, x):
        return self.head(self.encoder(x) if hasattr(self, "encoder") else self.body(x))


def _cfg(**sections):
    base = {"trainer": {"max_minutes": None}, "schedule": {"name": "poly", "warmup": 0.0}}
    for k, v in sections.items():
        base.setdefault(k, {}).update(v)
    return load_train_config(None, base)


def _fit(model, cfg, steps=4):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    masks = torch.randint(0, 3, (8, 16, 16), dtype=torch.uint8)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, masks), batch_size=4, shuffle=False
    )
    labels = LabelSet.from_names(["a", "b", "c"])
    module = SegModule(model, "tiny", {}, labels, cfg, total_steps=10)
    seen = []

    class Watch(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            opt = trainer.optimizers[0]
            bn_modes = [m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
            seen.append(({g["name"]: g["lr"] for g in opt.param_groups}, bn_modes))

    trainer = L.Trainer(
        max_steps=steps,
        max_epochs=2,  # two epochs: the second one's train() switch must not thaw BatchNorm
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[Watch()],
    )
    trainer.fit(module, loader)
    return module, seen


def _snapshot(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict, after: nn.Module) -> set:
    now = after.state_dict()
    return {k for k, v in before.items() if not torch.equal(v, now[k])}


def test_freeze_encoder_keeps_encoder_weights_and_trains_the_head():
    model = Tiny()
    enc_before, head_before = _snapshot(model.encoder), _snapshot(model.head)
    _fit(model, _cfg(model={"freeze_encoder": True}))
    params = {k for k, _ in model.encoder.named_parameters()}
    assert not (_changed(enc_before, model.encoder) & params)
    assert all(not p.requires_grad for p in model.encoder.parameters())
    assert "0.weight" in _changed(head_before, model.head)


def test_freeze_bn_keeps_running_stats_and_affine_across_epochs():
    model = Tiny()
    bn_names = {
        f"{n}.{k}"
        for n, m in model.named_modules()
        if isinstance(m, nn.BatchNorm2d)
        for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    }
    before = _snapshot(model)
    module, seen = _fit(model, _cfg(model={"freeze_bn": True}))
    changed = _changed(before, model)
    assert not (changed & bn_names), changed & bn_names
    assert "encoder.0.weight" in changed and "head.3.weight" in changed  # the convs trained
    assert len(seen) == 4 and all(not any(modes) for _, modes in seen)
    module.train()  # any later switch to training leaves BatchNorm in eval
    assert model.head[0].training and not model.head[1].training


def test_without_freeze_bn_the_running_stats_move():
    # the control for the test above: the same fit does change them when not frozen
    model = Tiny()
    before = _snapshot(model)
    _, seen = _fit(model, _cfg())
    assert "encoder.1.running_mean" in _changed(before, model)
    assert all(all(modes) for _, modes in seen)


def test_encoder_lr_mult_gives_the_encoder_its_own_scheduled_group():
    model = Tiny()
    _, seen = _fit(model, _cfg(optim={"lr": 0.01, "encoder_lr_mult": 0.1}))
    for lrs, _ in seen:
        assert set(lrs) == {"head", "head_no_decay", "encoder", "encoder_no_decay"}
        assert lrs["encoder"] == pytest.approx(0.1 * lrs["head"])
        assert lrs["encoder_no_decay"] == pytest.approx(lrs["encoder"])
    heads = [lrs["head"] for lrs, _ in seen]
    assert heads[0] == pytest.approx(0.01) and heads[-1] < heads[0]  # poly decays both groups


def test_parameter_groups_split_encoder_and_decay():
    model = Tiny()
    groups = {g["name"]: g for g in parameter_groups(model, 1.0, 0.5, encoder_lr_mult=0.25)}
    enc = {id(p) for p in model.encoder.parameters()}
    assert {id(p) for p in groups["encoder"]["params"]} | {
        id(p) for p in groups["encoder_no_decay"]["params"]
    } == enc
    assert groups["encoder"]["lr"] == 0.25 and groups["head"]["lr"] == 1.0
    assert groups["head_no_decay"]["weight_decay"] == 0.0 and groups["head"]["weight_decay"] == 0.5
    # the default keeps one group pair, as before the option existed
    assert [g["name"] for g in parameter_groups(model, 1.0, 0.5)] == ["head", "head_no_decay"]


def test_controls_that_need_an_encoder_name_it():
    with pytest.raises(SegsimError) as e:
        apply_freezing(Tiny(with_encoder=False), freeze_encoder=True)
    assert "freeze_encoder" in e.value.problem and "encoder" in e.value.fix
    with pytest.raises(SegsimError) as e:
        SegModule(
            Tiny(with_encoder=False),
            "tiny",
            {},
            LabelSet.from_names(["a", "b", "c"]),
            _cfg(optim={"encoder_lr_mult": 0.5}),
            total_steps=1,
        )
    assert "encoder_lr_mult" in e.value.problem


def test_freezing_everything_is_refused():
    model = nn.Module()
    model.encoder = nn.Sequential(nn.Conv2d(3, 3, 1))
    model.norm = nn.BatchNorm2d(3)
    with pytest.raises(SegsimError) as e:
        apply_freezing(model, freeze_encoder=True, freeze_bn=True)
    assert "no trainable parameters" in e.value.problem
    assert "freeze_encoder" in e.value.problem and "freeze_bn" in e.value.problem


@pytest.mark.parametrize("mult", [0, -0.5, 1.5])
def test_encoder_lr_mult_outside_0_1_is_a_config_error(mult):
    with pytest.raises(SegsimError) as e:
        _cfg(optim={"encoder_lr_mult": mult})
    assert "encoder_lr_mult" in str(e.value)


def test_real_model_freeze_encoder_leaves_decoder_trainable():
    from segsim.models import create_model

    net = create_model("lraspp_mobilenetv3", 3)
    apply_freezing(net, freeze_encoder=True)
    trainable = {n.split(".")[0] for n, p in net.named_parameters() if p.requires_grad}
    assert trainable == {"head"}


def test_cli_freeze_on_a_model_without_encoder_is_one_line_exit_2(tmp_path, capsys):
    from segsim.cli import main
    from train_fixtures import make_dataset

    make_dataset(tmp_path / "ds", counts=(4, 2, 2), size=16)
    args = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run"), "-q"]
    assert main([*args, "--model", "unet_small", "model.freeze_encoder=true"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "freeze_encoder" in err and "fix:" in err
    assert main([*args, "optim.encoder_lr_mult=2"]) == 2
    assert "encoder_lr_mult" in capsys.readouterr().err

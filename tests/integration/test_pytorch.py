"""report_and_prune in a plain training loop, and the Lightning pruning callback."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import slimtune as st
from slimtune.integration import report_and_prune


class _Trial:
    """The two methods report_and_prune needs, with a fixed pruning decision."""

    def __init__(self, prune_at: int | None = None):
        self.reported: list[tuple[float, int]] = []
        self.prune_at = prune_at

    def report(self, value, step):
        self.reported.append((value, step))

    def should_prune(self):
        return self.prune_at is not None and self.reported[-1][1] >= self.prune_at


def test_report_and_prune_reports_and_raises_when_told():
    t = _Trial(prune_at=2)
    assert report_and_prune(t, np.float32(0.5), 0) == 0.5
    report_and_prune(t, 0.25, 1)
    with pytest.raises(st.TrialPruned, match="step 2"):
        report_and_prune(t, 0.125, 2)
    assert t.reported == [(0.5, 0), (0.25, 1), (0.125, 2)]


def test_report_and_prune_names_bad_arguments():
    with pytest.raises(TypeError, match="value must be a number"):
        report_and_prune(_Trial(), "0.5x", 0)
    with pytest.raises(ValueError, match="step must be a non-negative int"):
        report_and_prune(_Trial(), 0.5, -1)
    with pytest.raises(ValueError, match="step must be a non-negative int"):
        report_and_prune(_Trial(), 0.5, 1.5)


def test_a_plain_torch_loop_is_pruned_by_the_study():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.1

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 0.3, log=True)
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        for epoch in range(8):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(X).squeeze(1), y)
            loss.backward()
            opt.step()
            with torch.no_grad():
                val = torch.nn.functional.mse_loss(model(X).squeeze(1), y)
            report_and_prune(trial, val, epoch)  # a 0-d tensor
        return float(val)

    study = st.create_study(
        sampler=st.samplers.RandomSampler(seed=0),
        pruner=st.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    )
    study.optimize(objective, n_trials=12)
    states = [t.state for t in study.trials]
    assert st.TrialState.PRUNED in states and st.TrialState.COMPLETE in states
    for t in study.trials:
        n = len(t.intermediate_values)
        assert n == 8 if t.state == st.TrialState.COMPLETE else 2 <= n < 8


# --- Lightning -----------------------------------------------------------------------------


def _lightning_objective(pl, torch, monitor="val_loss", log_it=True):
    class Module(pl.LightningModule):
        def __init__(self, level):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)
            self.level = level

        def training_step(self, batch, batch_idx):
            (x,) = batch
            return self.layer(x).pow(2).mean()

        def validation_step(self, batch, batch_idx):
            # the metric is the trial's parameter: the pruning decisions are known
            if log_it:
                self.log("val_loss", torch.tensor(self.level))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = torch.utils.data.TensorDataset(torch.randn(8, 2))

    def objective(trial):
        from slimtune.integration import PyTorchLightningPruningCallback

        level = trial.suggest_float("level", 0.0, 10.0)
        cb = PyTorchLightningPruningCallback(trial, monitor=monitor)
        trainer = pl.Trainer(
            max_epochs=3, callbacks=[cb], logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
            num_sanity_val_steps=1,
        )
        loader = torch.utils.data.DataLoader(data, batch_size=4)
        trainer.fit(Module(level), loader, loader)
        cb.check_pruned()  # a no-op outside distributed runs
        return level

    return objective


@pytest.mark.filterwarnings("ignore::UserWarning")  # Lightning's hints about workers, logging
def test_lightning_callback_reports_each_epoch_and_prunes():
    pl = pytest.importorskip("lightning.pytorch")
    torch = pytest.importorskip("torch")
    study = st.create_study(pruner=st.pruners.MedianPruner(n_startup_trials=1))
    for level in (1.0, 5.0, 0.5):
        study.enqueue_trial({"level": level})
    study.optimize(_lightning_objective(pl, torch), n_trials=3)
    t0, t1, t2 = study.trials
    # the sanity check is not reported: exactly the epochs 0, 1, 2
    assert t0.state == st.TrialState.COMPLETE and sorted(t0.intermediate_values) == [0, 1, 2]
    assert t1.state == st.TrialState.PRUNED and sorted(t1.intermediate_values) == [0]
    assert t2.state == st.TrialState.COMPLETE and t2.intermediate_values[2] == 0.5


@pytest.mark.filterwarnings("ignore::UserWarning:lightning")
def test_lightning_callback_warns_when_the_metric_is_missing():
    pl = pytest.importorskip("lightning.pytorch")
    torch = pytest.importorskip("torch")
    study = st.create_study(pruner=st.pruners.MedianPruner(n_startup_trials=0))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        study.optimize(_lightning_objective(pl, torch, monitor="val_acc"), n_trials=1)
    assert any("'val_acc' was not logged" in str(w.message) for w in rec)
    assert study.trials[0].state == st.TrialState.COMPLETE
    assert study.trials[0].intermediate_values == {}


class _Strategy:
    def __init__(self):
        self.broadcasts = []

    def broadcast(self, obj):
        self.broadcasts.append(obj)
        return obj


class _DDPTrainer:
    """The parts of a Trainer the callback reads, as on the global-zero process of DDP."""

    def __init__(self, value):
        self.world_size = 2
        self.is_global_zero = True
        self.sanity_checking = False
        self.callback_metrics = {"val_loss": value}
        self.strategy = _Strategy()
        self.should_stop = False


class _Module:
    current_epoch = 0


def test_lightning_callback_under_ddp_stops_all_ranks_and_check_pruned_raises():
    pytest.importorskip("lightning.pytorch")
    from slimtune.integration import PyTorchLightningPruningCallback

    study = st.create_study(pruner=st.pruners.MedianPruner(n_startup_trials=1))
    first = study.ask()
    first.report(1.0, 0)
    study.tell(first, 1.0)
    trial = study.ask()
    cb = PyTorchLightningPruningCallback(trial, monitor="val_loss")
    trainer = _DDPTrainer(5.0)
    cb.on_fit_start(trainer, _Module())
    assert cb.is_ddp_backend
    cb.on_validation_end(trainer, _Module())  # no raise on DDP: every rank must stop
    assert trainer.should_stop and trainer.strategy.broadcasts == [True]
    with pytest.raises(st.TrialPruned, match="epoch 0"):
        cb.check_pruned()


def test_lightning_callback_needs_a_metric_name():
    pytest.importorskip("lightning.pytorch")
    from slimtune.integration import PyTorchLightningPruningCallback

    with pytest.raises(TypeError, match="monitor"):
        PyTorchLightningPruningCallback(object(), monitor="")

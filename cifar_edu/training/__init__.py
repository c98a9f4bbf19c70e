"""Training: named recipes, schedules, callbacks and the run folder.

>>> from cifar_edu.training import train, list_recipes
>>> list_recipes()                                                  # doctest: +SKIP
['baseline', 'regularized', 'fast90', 'fast94', 'muon94', 'student94', 'best', 'best96']
>>> result = train("fast90", "runs/fast90", source="full", seed=0)  # doctest: +SKIP
>>> result.metrics["test_accuracy"]                                 # doctest: +SKIP

The same function runs behind ``cifar-edu train --recipe NAME --out DIR``;
:func:`ensemble_runs` (``cifar-edu ensemble RUN RUN ... --out DIR``) averages finished
runs of one recipe trained with different seeds, and ``train(..., teacher=RUN)``
(``cifar-edu train ... --teacher RUN``) distils such an ensemble back into one network
(:mod:`cifar_edu.training.distill`).
"""

from __future__ import annotations

from cifar_edu.training.callbacks import (BestCheckpoint, EpochClock, JsonHistory, Lookahead,
                                          ResumeCheckpoint, save_model_atomic)
from cifar_edu.training.ensemble import build_ensemble, ensemble_runs
from cifar_edu.training.optimizers import BiasBoostSGD, Muon, orthogonalize
from cifar_edu.training.recipes import RECIPES, Recipe, airbench_sgd, get_recipe, list_recipes
from cifar_edu.training.run import (RUN_FILES, RunResult, build_compiled_model,
                                    evaluate_run_model, read_run, run_status, train)
from cifar_edu.training.schedules import WarmupLinearDecay, one_cycle

__all__ = [
    "train", "RunResult", "RUN_FILES", "run_status", "read_run", "build_compiled_model",
    "ensemble_runs", "build_ensemble",
    "evaluate_run_model", "Recipe", "RECIPES", "get_recipe", "list_recipes", "airbench_sgd",
    "WarmupLinearDecay", "one_cycle", "BiasBoostSGD", "Muon", "orthogonalize", "Lookahead",
    "EpochClock", "JsonHistory", "BestCheckpoint", "ResumeCheckpoint", "save_model_atomic",
]

"""Build the estimator the spec names: LightGBM by default, or any scikit-learn class."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from steadyml.core.encoding import EncodingMode
from steadyml.errors import SpecError
from steadyml.spec import ModelSpec, Task

__all__ = ["encoding_for", "fit_kwargs", "flavor_for", "make_estimator"]

_LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "n_jobs": 1,
}


def _is_lightgbm(model: ModelSpec) -> bool:
    return model.estimator.lower() in {"lightgbm", "lgbm"}


def _import_class(dotted: str) -> type[Any]:
    module_name, _, class_name = dotted.rpartition(".")
    if not module_name:
        raise SpecError(
            "model.estimator",
            dotted,
            "use 'lightgbm' or a dotted class path such as "
            "'sklearn.linear_model.LogisticRegression'",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(
            "model.estimator", dotted, f"cannot import {module_name!r} ({exc})"
        ) from None
    found = getattr(module, class_name, None)
    if not inspect.isclass(found):
        raise SpecError("model.estimator", dotted, f"{module_name} has no class {class_name!r}")
    return found


def _known_parameters(cls: type[Any], *, lightgbm_family: bool) -> set[str] | None:
    """Parameter names ``cls`` accepts, or None when it takes arbitrary keywords."""
    signature = inspect.signature(cls).parameters
    names = {name for name, p in signature.items() if p.kind is not p.VAR_KEYWORD}
    if lightgbm_family:
        try:  # LightGBM takes its core parameters (and their aliases) as keywords
            from lightgbm.basic import _ConfigAliases

            for aliases in _ConfigAliases._get_all_param_aliases().values():
                names.update(aliases)
        except (ImportError, AttributeError):
            return None
        return names
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in signature.values())
    return None if takes_kwargs else names


def make_estimator(task: Task, model: ModelSpec) -> Any:
    """A fresh, unfitted estimator for ``task`` with the spec's params and seed.

    Raises
    ------
    SpecError
        When the class cannot be imported or rejects a parameter (the key is named).
    """
    if _is_lightgbm(model):
        import lightgbm

        params = {**_LIGHTGBM_DEFAULTS, "random_state": model.seed, **model.params}
        cls: type[Any] = (
            lightgbm.LGBMRegressor if task is Task.REGRESSION else lightgbm.LGBMClassifier
        )
    else:
        cls = _import_class(model.estimator)
        params = dict(model.params)
        if "random_state" in inspect.signature(cls).parameters:
            params.setdefault("random_state", model.seed)
    known = _known_parameters(cls, lightgbm_family=_is_lightgbm(model))
    for key in model.params:
        if known is not None and key not in known:
            raise SpecError(
                f"model.params.{key}",
                model.params[key],
                f"{cls.__name__} has no parameter {key!r}",
            )
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise SpecError(
            "model.params", model.params, f"{cls.__name__} refused them: {exc}"
        ) from None


def encoding_for(model: ModelSpec) -> EncodingMode:
    """Ordinal codes for LightGBM (native categoricals), one-hot for everything else."""
    return "ordinal" if _is_lightgbm(model) else "onehot"


def flavor_for(model: ModelSpec) -> str:
    """The MLflow flavour the model is logged with (sklearn API for both families)."""
    return "sklearn"


def fit_kwargs(model: ModelSpec, categorical_indices: list[int]) -> dict[str, Any]:
    """Extra ``fit`` arguments: LightGBM is told which columns are categorical."""
    if _is_lightgbm(model) and categorical_indices:
        return {"categorical_feature": categorical_indices}
    return {}

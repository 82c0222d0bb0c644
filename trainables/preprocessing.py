"""The `scaler` choice shared by every trainable: none, standard, minmax or pca.

`config["scaler"]` is a name (`"standard"`) or, from a conditional choice, a mapping with the
name and its parameters (`{"name": "pca", "n_components": 20, "whiten": False}`).
`n_components` is a count (capped at the number of features) or a variance fraction in (0, 1).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trainables.choices import named

SCALERS = ("none", "standard", "minmax", "pca")
PCA_PARAMS = ("n_components", "whiten")


def scaler_name(spec: str | Mapping[str, Any] | None, default: str = "none") -> str:
    """The scaler's name in a `scaler` config value."""
    return named(spec, default, "scaler", SCALERS, PCA_PARAMS)[0]


def build_scaler(spec: str | Mapping[str, Any] | None, n_features: int,
                 default: str = "none") -> Any | None:
    """An unfitted scikit-learn transformer for `spec`, or None for `none`."""
    name, params = named(spec, default, "scaler", SCALERS, PCA_PARAMS)
    if name != "pca" and params:
        raise ValueError(f"scaler {name!r} takes no parameter {', '.join(sorted(params))}")
    if name == "none":
        return None
    if name == "standard":
        from sklearn.preprocessing import StandardScaler

        return StandardScaler()
    if name == "minmax":
        from sklearn.preprocessing import MinMaxScaler

        return MinMaxScaler()
    from sklearn.decomposition import PCA

    n_components = params.get("n_components", 0.95)
    if isinstance(n_components, float) and not n_components.is_integer():
        if not 0.0 < n_components < 1.0:
            raise ValueError(f"pca n_components {n_components} must be a count or in (0, 1)")
    else:
        n_components = max(1, min(int(n_components), n_features))
    return PCA(n_components=n_components, whiten=bool(params.get("whiten", False)),
               random_state=0)

"""A Matern kernel that gives each categorical one length scale, not one per one-hot column.

scikit-optimize one-hot encodes a categorical for its GP and fits a length scale per column:
on a few dozen points these run off anywhere in [0.01, 100], so combinations of categories
look unrelated to one another. Here a categorical's columns share one length scale; as the
squared distance between two one-hot vectors is 2 * [x_j != x'_j], the kernel is a Matern on
sum_i (dx_i / l_i)^2 + sum_j 2 [x_j != x'_j] / l_j^2: the "same or different" distance per
categorical that Optuna's GPSampler and CoCaBO use, and numeric columns as before.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from skopt.learning.gaussian_process.kernels import Matern
from skopt.space import Categorical, Space


def column_groups(space: Space) -> list[int]:
    """For each transformed column of `space`, its length-scale group: one per categorical, one per other column."""
    groups: list[int] = []
    for dim in space.dimensions:
        first = groups[-1] + 1 if groups else 0
        size = dim.transformed_size
        groups.extend([first] * size if isinstance(dim, Categorical) else range(first, first + size))
    return groups


class GroupedMatern(Matern):
    """skopt's Matern (with `gradient_x`), its length scales shared within each group of columns (`groups`)."""

    def __init__(self, length_scale: Any = 1.0, length_scale_bounds: Any = (1e-5, 1e5), nu: float = 2.5,
                 groups: Any = None) -> None:
        super().__init__(length_scale=length_scale, length_scale_bounds=length_scale_bounds, nu=nu)
        self.groups = groups

    def _per_column(self) -> Matern:
        """The plain Matern over the columns, each with its group's length scale."""
        scales = np.atleast_1d(np.asarray(self.length_scale, dtype=float))
        return Matern(length_scale=scales[np.asarray(self.groups)], length_scale_bounds=(1e-5, 1e5), nu=self.nu)

    def __call__(self, X: Any, Y: Any = None, eval_gradient: bool = False) -> Any:
        if not eval_gradient:
            return self._per_column()(X, Y)
        K, grad = self._per_column()(X, Y, eval_gradient=True)
        if self.hyperparameter_length_scale.fixed:
            return K, np.empty((K.shape[0], K.shape[1], 0))
        groups = np.asarray(self.groups)
        n_groups = np.atleast_1d(np.asarray(self.length_scale)).size
        if grad.shape[2] != groups.size:  # one column: the plain Matern is isotropic
            grad = np.repeat(grad, groups.size, axis=2)
        membership = (groups[:, None] == np.arange(n_groups)[None, :]).astype(float)
        return K, grad @ membership  # d/d log l_g = sum of d/d log l_c over the group's columns

    def gradient_x(self, x: Any, X_train: Any) -> np.ndarray:
        return self._per_column().gradient_x(x, X_train)


def grouped_kernel(kernel: Any, space: Space) -> Any:
    """`kernel` (skopt's ConstantKernel * Matern) with the Matern grouped by `column_groups`, where
    some categorical has several columns; else `kernel` unchanged."""
    groups = column_groups(space)
    matern = getattr(kernel, "k2", None)
    if len(set(groups)) == len(groups) or type(matern) is not Matern:
        return kernel
    n_groups = len(set(groups))
    bounds = np.asarray(matern.length_scale_bounds, dtype=float).reshape(-1, 2)[0]
    return kernel.k1 * GroupedMatern(length_scale=np.ones(n_groups), length_scale_bounds=[tuple(bounds)] * n_groups,
                                     nu=matern.nu, groups=groups)

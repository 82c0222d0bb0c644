"""scikit-optimize's Gaussian process, with its predictive variance computed by BLAS.

skopt 0.10.2 computes the variance with a three-operand `np.einsum` that loops in Python
order: at 300 observations it took most of a suggest. Same model, same numbers, matrix
products instead.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from skopt.learning import GaussianProcessRegressor
from skopt.space import Dimension
from skopt.utils import cook_estimator
from sklearn.utils import check_array


class FastGaussianProcess(GaussianProcessRegressor):
    """`skopt.learning.GaussianProcessRegressor` whose `predict(return_std=True)` uses matrix products."""

    def predict(self, X: Any, return_std: bool = False, return_cov: bool = False,
                return_mean_grad: bool = False, return_std_grad: bool = False) -> Any:
        if return_cov or not return_std or not hasattr(self, "X_train_"):
            return super().predict(X, return_std=return_std, return_cov=return_cov,
                                   return_mean_grad=return_mean_grad, return_std_grad=return_std_grad)
        X = check_array(X)
        if X.shape[0] != 1 and (return_mean_grad or return_std_grad):
            raise ValueError("Not implemented for n_samples > 1")
        K_trans = self.kernel_(X, self.X_train_)
        y_mean = self.y_train_std_ * K_trans.dot(self.alpha_) + self.y_train_mean_
        y_var = self.kernel_.diag(X) - np.sum(K_trans.dot(self.K_inv_) * K_trans, axis=1)
        y_std = np.sqrt(np.maximum(y_var, 0.0) * self.y_train_std_**2)
        if not return_mean_grad:
            return y_mean, y_std
        grad = self.kernel_.gradient_x(X[0], self.X_train_)
        grad_mean = np.dot(grad.T, self.alpha_) * self.y_train_std_
        if not return_std_grad:
            return y_mean, y_std, grad_mean
        grad_std = np.zeros(X.shape[1])
        if not np.allclose(y_std, grad_std):
            grad_std = -np.dot(K_trans, np.dot(self.K_inv_, grad))[0] / y_std * self.y_train_std_**2
        return y_mean, y_std, grad_mean, grad_std


def make_gp(dimensions: list[Dimension], seed: int, restarts: int) -> FastGaussianProcess:
    """skopt's default GP for these dimensions (Matern 5/2 ARD, fitted Gaussian noise), made fast."""
    cooked = cook_estimator("GP", space=dimensions, random_state=seed, noise="gaussian",
                            n_restarts_optimizer=restarts)
    return FastGaussianProcess(**cooked.get_params(deep=False))

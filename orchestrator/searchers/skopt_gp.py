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
from skopt.utils import cook_estimator, normalize_dimensions
from sklearn.utils import check_array

from orchestrator.searchers.skopt_kernel import grouped_kernel


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


#: Gamma(concentration, rate) priors on the kernel hyperparameters, as Optuna's GPSampler puts them
#: (inputs in [0, 1], y standardised): inverse squared length scale, amplitude, noise variance.
GAMMA_PRIORS = {"length_scale": (2.0, 0.5), "constant_value": (2.0, 1.0), "noise_level": (1.1, 30.0)}


class PriorGaussianProcess(FastGaussianProcess):
    """The fast GP whose hyperparameters are fitted to the posterior mode under `GAMMA_PRIORS` (MAP), not
    the likelihood maximum: no length scale runs off to its bound on few points."""

    def log_marginal_likelihood(self, theta: Any = None, eval_gradient: bool = False, clone_kernel: bool = True) -> Any:
        out = super().log_marginal_likelihood(theta, eval_gradient=eval_gradient, clone_kernel=clone_kernel)
        if theta is None:
            return out
        prior, grad = _log_prior(self.kernel_, np.asarray(theta, dtype=float))
        return (out[0] + prior, out[1] + grad) if eval_gradient else out + prior


def _log_prior(kernel: Any, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """log p(theta) and its gradient in theta (the kernel's log-hyperparameters)."""
    value, grad, i = 0.0, np.zeros_like(theta), 0
    for hp in kernel.hyperparameters:
        if hp.fixed:
            continue
        t = theta[i:i + hp.n_elements]
        key = next((k for k in GAMMA_PRIORS if hp.name.endswith(k)), None)
        if key:
            a, b = GAMMA_PRIORS[key]
            scale = -2.0 if key == "length_scale" else 1.0  # the prior is on length_scale**-2
            value += float(np.sum((a - 1) * scale * t - b * np.exp(scale * t)))
            grad[i:i + hp.n_elements] = (a - 1) * scale - b * scale * np.exp(scale * t)
        i += hp.n_elements
    return value, grad


def make_gp(dimensions: list[Dimension], seed: int, restarts: int, prior: bool = False,
            categorical_kernel: bool = False) -> FastGaussianProcess:
    """skopt's default GP for these dimensions (Matern 5/2 ARD, fitted Gaussian noise), made fast;
    with `prior`, fitted to the MAP under `GAMMA_PRIORS`; with `categorical_kernel`, one length
    scale per categorical (`skopt_kernel.grouped_kernel`)."""
    cooked = cook_estimator("GP", space=dimensions, random_state=seed, noise="gaussian",
                            n_restarts_optimizer=restarts)
    params = cooked.get_params(deep=False)
    if categorical_kernel:
        params["kernel"] = grouped_kernel(params["kernel"], normalize_dimensions(dimensions))
    return (PriorGaussianProcess if prior else FastGaussianProcess)(**params)

"""Ready trainables (scikit-learn and torch models on bundled datasets), registered under the
`hpo.trainables` entry points in pyproject.toml; the registry is `orchestrator.extensions.trainables`."""
from orchestrator.extensions.trainables import TrainableNotFound, names, resolve, resolve_final_fit

__all__ = ["TrainableNotFound", "names", "resolve", "resolve_final_fit"]

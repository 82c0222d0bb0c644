"""Ready trainables (scikit-learn and torch models on bundled datasets) and their registry."""
from trainables.registry import TrainableNotFound, names, resolve, resolve_final_fit

__all__ = ["TrainableNotFound", "names", "resolve", "resolve_final_fit"]

"""Trainables by name: resolution of a spec's `trainable:` reference and of its final fit."""
# placeholder: replaced by arch-a at merge
from trainables.registry import TrainableNotFound, names, resolve, resolve_final_fit

__all__ = ["TrainableNotFound", "names", "resolve", "resolve_final_fit"]

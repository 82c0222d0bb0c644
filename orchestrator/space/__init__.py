"""Search spaces: the typed tree parsed from a spec, and its compilation for Ray Tune."""
from orchestrator.space.compile import count_sampled, describe, grid_size, to_param_space
from orchestrator.space.model import (
    BRANCH_KEY, Categorical, Conditional, Constant, FloatParam, IntParam, Nested, SpaceNode,
)

__all__ = [
    "BRANCH_KEY", "Categorical", "Conditional", "Constant", "FloatParam", "IntParam", "Nested",
    "SpaceNode", "count_sampled", "describe", "grid_size", "to_param_space",
]

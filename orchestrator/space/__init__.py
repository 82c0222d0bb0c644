"""Search spaces compiled for Ray Tune; the typed tree itself is parsed by `orchestrator.spec`
(`orchestrator.spec.space_model`) and re-exported here."""
from orchestrator.space.compile import count_sampled, describe, grid_size, to_param_space
from orchestrator.spec.space_model import (
    BRANCH_KEY, Categorical, Conditional, Constant, FloatParam, IntParam, Nested, SpaceNode,
)

__all__ = [
    "BRANCH_KEY", "Categorical", "Conditional", "Constant", "FloatParam", "IntParam", "Nested",
    "SpaceNode", "count_sampled", "describe", "grid_size", "to_param_space",
]

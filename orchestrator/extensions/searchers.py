"""The searchers `search.method` may name: one `SearcherEntry` each.

Adding a searcher is one entry here plus the module of its builder. The spec accepts the
method and checks `search.<options_key>` against the entry's options, `hpo validate` prints its
label, `hpo schema` describes its options. A builder is `"module:function"`, imported only when
a sweep builds it: `function(spec, param_space) -> ray.tune.search.Searcher | SearchAlgorithm`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.extensions.options import Integer, Number, OneOf, Option
from orchestrator.extensions.references import load_reference


@dataclass(frozen=True)
class SearcherEntry:
    """A search method: how `hpo validate` names it, what builds it, which options it takes."""

    name: str
    label: str
    builder: str
    options: tuple[Option, ...] = ()
    options_key: str | None = None  # the key under `search:` that holds the options
    default_num_samples: int = 10

    def build(self, spec: Any, param_space: dict[str, Any]) -> Any:
        """The Ray Tune search algorithm for `spec` over the compiled `param_space`."""
        return load_reference(self.builder)(spec, param_space)


# `search.bayes`: the options of SkOptSearch (orchestrator/searchers/skopt_search.py says how
# they work, benchmarks/README.md what the defaults measured).
SKOPT_OPTIONS: tuple[Option, ...] = (
    Option("base_estimator", OneOf(("GP", "RF", "ET", "GBRT")), "GP",
           "surrogate model: Gaussian process, random forest, extra trees, gradient-boosted trees"),
    Option("acq_func", OneOf(("EI", "PI", "LCB", "gp_hedge")), "gp_hedge",
           "acquisition function; gp_hedge picks among EI, PI and LCB by their past gains"),
    Option("n_initial_points", Integer(minimum=1), 10, "random points before the model, over all arms"),
    Option("initial_point_generator", OneOf(("random", "lhs", "sobol", "halton", "hammersly")), "random",
           "how the initial points are drawn: at random or a space-filling design"),
    Option("acq_optimizer", OneOf(("auto", "lbfgs", "sampling")), "auto",
           "how the acquisition is optimised; auto: lbfgs for GP, sampling otherwise"),
    Option("n_points", Integer(minimum=1), 1000, "acquisition samples per proposal, as many again near the best"),
    Option("n_restarts_optimizer", Integer(minimum=1), 1, "L-BFGS starts per acquisition"),
    Option("xi", Number(minimum=0.0), 0.0, "EI/PI exploration margin, in standard deviations of the metric"),
    Option("kappa", Number(minimum=0.0), 1.96, "LCB exploration weight kappa_0"),
    Option("kappa_decay", Number(above=0.0), 1.0, "LCB's kappa_t = kappa_0 * kappa_decay**t, t = observations"),
    Option("liar", OneOf(("cl_min", "cl_mean", "cl_max", "kb", "lp")), "lp",
           "how running trials steer the next suggestion: lp = local penalisation, kb = kriging believer, "
           "cl_min/cl_mean/cl_max = constant liar (the best/mean/worst value seen)"),
    Option("conditional", OneOf(("branch", "flat")), "branch",
           "branch: one model per algorithm branch; flat: one model over every parameter"),
)

_VARIANT_GENERATOR = "orchestrator.searchers.variant:build_variant_generator"

SEARCHERS: dict[str, SearcherEntry] = {entry.name: entry for entry in (
    SearcherEntry("grid", "grid (Ray variant generator)", _VARIANT_GENERATOR, default_num_samples=1),
    SearcherEntry("random", "random (Ray variant generator)", _VARIANT_GENERATOR),
    SearcherEntry("bayes", "bayes (scikit-optimize)", "orchestrator.searchers.skopt_search:build_for_spec",
                  options=SKOPT_OPTIONS, options_key="bayes"),
)}

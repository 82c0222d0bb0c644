"""Running sweeps: open the sweep folder, start Ray, build and fit the Tuner, judge the outcome, publish the best.

`orchestrator.runner.sweep.run_sweep` is the entry point (`orchestrator.api.run_sweep` adds the progress view).
Nothing is imported here, so that `runner.code_shipping` (used by `hpo submit`) does not pull in Ray Tune.
"""

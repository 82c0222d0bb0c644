"""Declared extension points, the base layer of hpo: the searchers (`SEARCHERS`), schedulers
(`SCHEDULERS`) and trainables (the `hpo.trainables` entry points) a spec may name.

Only the standard library and `orchestrator.errors` are imported here; the code an entry names
is imported when a sweep builds it. The spec validates by these tables, `hpo validate` prints
their labels and `hpo schema` describes their options.
"""

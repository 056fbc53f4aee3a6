"""History: relabel, train, evaluate, unknowns and seed: the tools that read and rewrite the store."""

"""The watchers: they tell the worker how every application ended, from the
YARN ResourceManager (``watch yarn``) or the Kubernetes API (``watch k8s``),
as lifecycle records on the input topic."""

"""The pure classification core: rules + model + root-cause selection, no I/O."""

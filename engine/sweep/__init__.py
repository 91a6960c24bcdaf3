"""The batched λ sweep: one member per λ, trained at once as one stacked model (see
docs/design.md, "The batched sweep"). Import the modules themselves: this package imports
nothing, so the UI can use its λ grammar (`engine.sweep.lams`) before torch has loaded."""

"""The checker's passes, one module per concern; :data:`policy.check.checker.PASSES` runs them."""

"""mmrole.engine."""

"""mmrole.eval."""

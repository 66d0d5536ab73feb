"""mmrole.train."""

"""mmrole.data."""

"""mmrole.app."""

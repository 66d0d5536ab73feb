"""mmrole.build."""

"""mmrole.models."""

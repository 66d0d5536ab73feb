"""mmrole.prompts."""

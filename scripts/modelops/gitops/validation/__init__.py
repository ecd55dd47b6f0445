"""`modelops validate`: render every environment, then the schemas and the platform's rules."""

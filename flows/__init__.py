"""Prefect flows: thin wiring of monitor's library functions into tasks and deployments."""

"""The key that names the chosen branch of a conditional choice in a trial config (`config["model"]["name"]`)."""

BRANCH_KEY = "name"

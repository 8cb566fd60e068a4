"""The worker's web endpoints: the decision API, the alerts API and the console feed."""

"""Orchestration only: the weekly and retraining jobs and the scheduler that fires them."""

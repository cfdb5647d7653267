"""Advisor digests: who to list for whom (selection), how it reads (render), and the weekly run."""

"""Comparing methods: grids of runs, their statistics and plots."""

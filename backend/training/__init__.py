"""Training: fit loop, losses, pretraining, adapters and baselines.

The one early-stopping fit loop, masked NSE loss, pretraining, residual adapters and their files, and the
tabular baselines.
"""

"""Fine-tuning machinery shared by every task: residual adapters, adapter files, training with early stopping."""

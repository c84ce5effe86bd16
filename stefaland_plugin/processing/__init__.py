"""The StefaLand Processing provider and its algorithms (imported lazily by the provider)."""

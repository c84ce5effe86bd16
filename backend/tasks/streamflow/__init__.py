"""Streamflow in ungauged basins: frozen encoder states + residual adapter + LSTM head."""

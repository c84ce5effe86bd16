"""The StefaLand masked autoencoder over attributes and forcings."""

"""Models built from ``Sequential`` parts: the dense autoencoders (and the VAE)."""

from tinyae.models.autoencoder import Autoencoder, dense_autoencoder, parse_spec

__all__ = ["Autoencoder", "dense_autoencoder", "parse_spec"]

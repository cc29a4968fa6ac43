"""Models built from ``Sequential`` parts: the dense autoencoders (and the VAE)."""

from tinyae.models.autoencoder import Autoencoder, dense_autoencoder, parse_spec
from tinyae.models.base import EncoderDecoder

__all__ = ["Autoencoder", "EncoderDecoder", "dense_autoencoder", "parse_spec"]

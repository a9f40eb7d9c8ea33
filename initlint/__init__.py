"""initlint: find weight initialisations that stop PyTorch models from learning."""

__version__ = "0.1.0"

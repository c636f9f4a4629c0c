"""Training: needs the ``train`` extra (torch, torchvision). Nothing here is imported by the runtime."""
